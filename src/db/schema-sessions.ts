/**
 * The tables of who is signed in and what the processes report: staff accounts and sessions,
 * sign-in attempts, portal links and sessions, the mailbox watchers. Part of `Database` (schema.ts).
 */
import type { Generated } from 'kysely';
import type { Id, Int8, Timestamp } from './columns';

export interface StaffAccountsTable {
  id: Id;
  email: string;
  password_hash: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_login_at: Timestamp | null;
}

export interface StaffSessionsTable {
  /** SHA-256 of the cookie's value; the value itself is never stored. */
  token_hash: string;
  staff_id: Int8;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface RateEventsTable {
  id: Id;
  scope: string;
  key: string;
  at: Timestamp;
}

/** One-time portal sign-in links; the token itself is only in the mail. */
export interface PortalLinksTable {
  token_hash: string;
  email: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface PortalSessionsTable {
  token_hash: string;
  email: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

/** The live watcher's report on its mailbox, refreshed every few seconds. */
export interface MailboxWatchersTable {
  mailbox: string;
  /** Which process holds the lease (host and pid), for people reading the dashboard. */
  holder: string;
  state: string;
  mode: string | null;
  state_since: Timestamp;
  last_sync_at: Timestamp | null;
  last_message_at: Timestamp | null;
  last_error: string | null;
  /** With state auth_failed: the failure's short code (AADSTS7000215, invalid_grant, ...). */
  reason_code: string | null;
  reconnects: Generated<number>;
  heartbeat_at: Timestamp;
}
