/**
 * The casework tables (owned by cases/): cases, their messages and attachments, their events,
 * notes and participants, and what each staff member has seen of them. Part of `Database`
 * (schema.ts).
 */
import type { ColumnType, Generated, Selectable } from 'kysely';
import type { Id, Int8, OptionalInt8, Timestamp } from './columns';

export type CaseStatus = 'new' | 'open' | 'pending' | 'solved' | 'closed' | 'suspended' | 'ignored';
/** The statuses of a case that passed the gate: staff work it between these (cases/lifecycle.ts). */
export type WorkStatus = 'open' | 'pending' | 'solved' | 'closed';
/** Who wrote a message of a case: the customer's side (mail, portal) or support staff. */
export type MessageAuthor = 'customer' | 'staff';
/** How a message reached the case: mailed in, or written in the portal, dashboard or API. */
export type MessageChannel = 'mail' | 'portal' | 'dashboard' | 'api';
export type HoldReason = 'unknown_sender' | 'not_permitted' | 'unrouted' | 'rate_limited' | 'sender_not_verified' | 'too_large';
/** Why a message is kept on its case but held from it (messages.hold_reason). */
export type MessageHoldReason = 'reply_not_verified';

export interface CasesTable {
  id: Id;
  reference: ColumnType<string, never, never>;
  status: Generated<CaseStatus>;
  hold_reason: HoldReason | null;
  requester_email: string;
  requester_name: string | null;
  subject: string;
  company_id: Int8 | null;
  infrastructure_id: Int8 | null;
  /** How the case was routed to its infrastructure (which matching rule), for the audit trail. */
  route: string | null;
  approval_id: OptionalInt8;
  intake_hold: Generated<'too_large' | null>;
  sender_verified: Generated<boolean | null>;
  created_at: Timestamp;
  /** The latest decision: set again when an approval or staff releases or ignores a held case. */
  decided_at: Timestamp | null;
  /** Intake's own decision (the match), written once: what the arrival -> decision figures count. */
  first_decided_at: Generated<Date | null>;
  assignee_id: Generated<string | null>;
  escalated_at: Generated<Date | null>;
  escalated_by: Generated<string | null>;
  escalation_reason: Generated<string | null>;
  /** The latest message from the customer's side (mail or portal) after the first. */
  last_customer_reply_at: Generated<Date | null>;
  /** The first staff reply. */
  first_response_at: Generated<Date | null>;
  /** When the case was last solved or closed (null while it is worked): REOPEN_WINDOW runs from here. */
  resolved_at: Generated<Date | null>;
  /** The case this one follows up: it began as a reply to that case after it had been closed. */
  follows_case_id: Generated<string | null>;
}

export interface MessagesTable {
  id: Id;
  case_id: Int8;
  /** The raw copy; null for a message written here (staff reply, portal comment). */
  raw_message_id: Int8 | null;
  message_id: string | null;
  from_email: string;
  from_name: string | null;
  recipients: string[];
  subject: string;
  text: string;
  html: string | null;
  sent_at: Timestamp | null;
  received_at: Timestamp;
  /** Set for a message held from its case (its sender unverified): no participants, not in the portal. */
  hold_reason: Generated<MessageHoldReason | null>;
  author: Generated<MessageAuthor>;
  channel: Generated<MessageChannel>;
}

export interface AttachmentsTable {
  id: Id;
  message_id: Int8;
  filename: string | null;
  content_type: string;
  size: number;
  sha256: string;
  /** The content, or null when it is in the large object `content_oid` (a large attachment). */
  content: Buffer | null;
  content_oid: Generated<number | null>;
}

export interface CaseEventsTable {
  id: Id;
  case_id: Int8;
  kind: string;
  actor: string;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
  /** How the change came: mail, portal, dashboard, api, or system (matching, sweeps). */
  channel: Generated<string>;
  at: Timestamp;
  /** The public event this row became (events.id), 0 when none; null until the relay read it. */
  event_id: OptionalInt8;
}

/** Staff's internal notes on a case: never mailed, never shown to customers. */
export interface CaseNotesTable {
  id: Id;
  case_id: Int8;
  author: string;
  text: string;
  created_at: Timestamp;
}

/** The latest case event each staff member has seen of a case. */
export interface StaffCaseViewsTable {
  staff_id: Int8;
  case_id: Int8;
  seen_event_id: Int8;
  seen_at: Timestamp;
}

/** A case's participants: the Cc addresses of the customer's messages, who may reply on that case (and see it in the portal). */
export interface CaseParticipantsTable {
  case_id: Int8;
  email: string;
  added_at: Timestamp;
}

export type CaseRow = Selectable<CasesTable>;
