import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { EventsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from './schema-events';
import type { MailboxWatchersTable, PortalLinksTable, PortalSessionsTable, RateEventsTable, StaffAccountsTable, StaffSessionsTable } from './schema-sessions';

export type { EventsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from './schema-events';
export type { MailboxWatchersTable, PortalLinksTable, PortalSessionsTable, RateEventsTable, StaffAccountsTable, StaffSessionsTable } from './schema-sessions';

/** Column types as kysely sees them; one interface per table, named after it. */

/** Optional on insert: every timestamp column either defaults to now() or is set explicitly. */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>;
export type Id = ColumnType<string, never, never>;
/** A nullable bigint column that may be left out on insert. */
export type OptionalInt8 = ColumnType<string | null, string | number | bigint | null | undefined, string | number | bigint | null>;

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
export type CompanyRole = 'admin' | 'member';
export type ContactStatus = 'active' | 'pending';
export type PermissionRole = 'administrator' | 'user';
export type RawSource = 'imap' | 'pipe' | 'smtp';
export type RawStatus = 'received' | 'case' | 'quarantined' | 'kept';
export type ApprovalStatus = 'pending' | 'authorized' | 'ignored' | 'expired';
/** `team` and `import`: settled by a change to people and rights that let the requester open cases there. */
export type ApprovalChannel = 'link' | 'reply' | 'portal' | 'staff' | 'expiry' | 'team' | 'import';
export type OutboxStatus = 'pending' | 'sent' | 'failed' | 'bounced';

export interface CompaniesTable {
  id: Id;
  key: string;
  name: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CompanyDomainsTable {
  company_id: Int8;
  domain: string;
}

export interface InfrastructuresTable {
  id: Id;
  company_id: Int8;
  key: string;
  name: string;
  is_default: boolean;
}

export interface InfrastructureAddressesTable {
  address: string;
  infrastructure_id: Int8;
}

export interface ContactsTable {
  id: Id;
  company_id: Int8;
  email: string;
  name: string | null;
  company_role: CompanyRole;
  status: ContactStatus;
  source: Generated<string>;
  /** Named by the company's administrators: told of unverified mail in a contact's name and of admin changes. */
  security_contact: Generated<boolean>;
  phone: Generated<string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PermissionsTable {
  infrastructure_id: Int8;
  contact_id: Int8;
  role: PermissionRole;
  cc_all_cases: boolean;
  source: Generated<string>;
  granted_by: Generated<string | null>;
  granted_via: Generated<string | null>;
  created_at: Timestamp;
}

export interface RawMessagesTable {
  id: Id;
  source: RawSource;
  mailbox: string | null;
  uidvalidity: Int8 | null;
  uid: Int8 | null;
  dedupe_key: string;
  message_id: string | null;
  sha256: string;
  size: number;
  /** The whole message, or for one streamed into `raw_oid`, its first 256 KiB. */
  raw: Buffer;
  raw_oid: Generated<number | null>;
  status: Generated<RawStatus>;
  /** For kept messages: what they are (e.g. approval_reply). */
  kind: Generated<string | null>;
  error: string | null;
  case_id: Int8 | null;
  received_at: Timestamp;
  processed_at: Timestamp | null;
}

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

export interface MailboxStateTable {
  mailbox: string;
  uidvalidity: Int8;
  last_uid: Int8;
  updated_at: Timestamp;
}

export interface ApprovalsTable {
  id: Id;
  company_id: Int8;
  infrastructure_id: Int8;
  requester_email: string;
  status: ApprovalStatus;
  mail_held: 'no_approvers' | 'capped' | null;
  first_case_id: Int8;
  created_at: Timestamp;
  expires_at: Timestamp;
  remind_at: Timestamp | null;
  reminded_at: Timestamp | null;
  decided_at: Timestamp | null;
  decided_by: string | null;
  channel: ApprovalChannel | null;
}

export interface ApprovalApproversTable {
  approval_id: Int8;
  contact_id: Int8;
  email: string;
}

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

export interface AuditLogTable {
  id: Id;
  at: Timestamp;
  actor: string;
  channel: string;
  action: string;
  company_id: Int8 | null;
  infrastructure_id: Int8 | null;
  case_id: Int8 | null;
  approval_id: Int8 | null;
  subject_email: string | null;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
  /** As case_events.event_id. */
  event_id: OptionalInt8;
}

/** What a help desk hears of (docs/events.md): written by the relay alone, in commit order. */
export interface CaseParticipantsTable {
  case_id: Int8;
  email: string;
  added_at: Timestamp;
}

export interface Database {
  companies: CompaniesTable;
  company_domains: CompanyDomainsTable;
  infrastructures: InfrastructuresTable;
  infrastructure_addresses: InfrastructureAddressesTable;
  contacts: ContactsTable;
  permissions: PermissionsTable;
  raw_messages: RawMessagesTable;
  cases: CasesTable;
  messages: MessagesTable;
  attachments: AttachmentsTable;
  case_events: CaseEventsTable;
  case_notes: CaseNotesTable;
  staff_case_views: StaffCaseViewsTable;
  events: EventsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  mailbox_state: MailboxStateTable;
  approvals: ApprovalsTable;
  approval_approvers: ApprovalApproversTable;
  outbox: OutboxTable;
  audit_log: AuditLogTable;
  case_participants: CaseParticipantsTable;
  staff_accounts: StaffAccountsTable;
  staff_sessions: StaffSessionsTable;
  rate_events: RateEventsTable;
  portal_links: PortalLinksTable;
  portal_sessions: PortalSessionsTable;
  mailbox_watchers: MailboxWatchersTable;
}

export type CaseRow = Selectable<CasesTable>;
export type NewRawMessage = Insertable<RawMessagesTable>;
