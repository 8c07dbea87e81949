/** The mail outbox (owned by mail/): every mail the service sends. Part of `Database` (schema.ts). */
import type { Generated } from 'kysely';
import type { Id, Int8, Timestamp } from './columns';

export type OutboxStatus = 'pending' | 'sent' | 'failed' | 'bounced';

export interface OutboxTable {
  id: Id;
  kind: string;
  case_id: Int8 | null;
  approval_id: Int8 | null;
  company_id: Int8 | null;
  to_address: string;
  subject: string;
  text: string;
  html: string;
  message_id: string;
  in_reply_to: string | null;
  references: string | null;
  reply_to: string | null;
  status: Generated<OutboxStatus>;
  attempts: Generated<number>;
  last_error: Generated<string | null>;
  smtp_response: Generated<string | null>;
  created_at: Timestamp;
  sent_at: Timestamp | null;
  bounce_recipient: Generated<string | null>;
  bounce_status: Generated<string | null>;
  bounced_at: Generated<Date | null>;
  /** The send job's batch this row went out in (see mail/send-batches.ts); null until queued. */
  send_batch: Generated<string | null>;
  /**
   * The mail's secret parts (portal links, approval tokens), AES-256-GCM under a key derived from
   * LINK_SECRET, while the row waits to be sent; the texts keep placeholders. Null once sent.
   */
  sealed_secrets: Buffer | null;
  /** Cc of a person's mail (a staff reply's participants). */
  cc_addresses: Generated<string[] | null>;
  /** The message whose attachments go with this mail (a staff reply's own message row). */
  message_ref: Generated<string | null>;
}
