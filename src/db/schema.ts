/**
 * The whole database as kysely sees it: one interface per table, named after it, each in the
 * schema-*.ts of the room that owns it (columns.ts: the column types they share). Importers
 * take the tables' types and their statuses from here.
 */
import type { ApprovalApproversTable, ApprovalsTable } from './schema-approvals';
import type { AuditLogTable } from './schema-audit';
import type { AttachmentsTable, CaseEventsTable, CaseNotesTable, CaseParticipantsTable, CasesTable, MessagesTable, StaffCaseViewsTable } from './schema-cases';
import type { CompaniesTable, CompanyDomainsTable, ContactsTable, InfrastructureAddressesTable, InfrastructuresTable, PermissionsTable } from './schema-directory';
import type { EventsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from './schema-events';
import type { MailboxStateTable, RawMessagesTable } from './schema-intake';
import type { OutboxTable } from './schema-mail';
import type { MailboxWatchersTable, PortalLinksTable, PortalSessionsTable, RateEventsTable, StaffAccountsTable, StaffSessionsTable } from './schema-sessions';

export type { Id, Int8, OptionalInt8, Timestamp } from './columns';
export type * from './schema-approvals';
export type * from './schema-audit';
export type * from './schema-cases';
export type * from './schema-directory';
export type * from './schema-events';
export type * from './schema-intake';
export type * from './schema-mail';
export type * from './schema-sessions';

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
