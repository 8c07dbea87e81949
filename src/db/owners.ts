import type { Database } from './schema';

/**
 * Which room (folder under src/) writes each table: inserts, updates and deletes happen there and
 * nowhere else; other rooms call the owner's functions. Reads may happen elsewhere where a join is
 * cheap and clear. Migrations are the one exception (they create the tables and backfill them).
 * owners.test.ts scans src/ and fails on a write from another room; a table without an entry here
 * does not compile.
 */
export const TABLE_OWNERS: Record<keyof Database, string> = {
  // People and rights: the import and the portal's team page go through directory/changes.ts.
  companies: 'directory',
  company_domains: 'directory',
  infrastructures: 'directory',
  infrastructure_addresses: 'directory',
  contacts: 'directory',
  permissions: 'directory',
  // Mail as received, before it is a case; and where each mailbox's watcher stands.
  raw_messages: 'intake',
  mailbox_state: 'intake',
  mailbox_watchers: 'intake',
  // Casework: a case, its messages and attachments, its events, notes and participants; the
  // assignment is a column of cases.
  cases: 'cases',
  messages: 'cases',
  attachments: 'cases',
  case_events: 'cases',
  case_notes: 'cases',
  case_participants: 'cases',
  approvals: 'approvals',
  approval_approvers: 'approvals',
  outbox: 'mail',
  audit_log: 'audit',
  events: 'events',
  webhook_endpoints: 'webhooks',
  webhook_deliveries: 'webhooks',
  staff_accounts: 'staff',
  staff_sessions: 'staff',
  staff_case_views: 'staff',
  portal_links: 'portal',
  portal_sessions: 'portal',
  rate_events: 'security',
};
