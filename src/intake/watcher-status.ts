import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

/**
 * `unwatched` is never a watcher's own state: readers of the heartbeats say it of a silent mailbox.
 * `auth_failed`: the credentials do not work (the provider will not issue a token, or the server
 * refuses it twice); retried with the same backoff, it recovers by itself once they work again.
 */
export type WatcherState = 'starting' | 'standby' | 'connecting' | 'connected' | 'disconnected' | 'auth_failed' | 'stopped' | 'unwatched';

/** A mailbox watcher's status: what the live watcher reports, and what its heartbeat row says to other processes. */
export interface WatcherStatus {
  mailbox: string;
  state: WatcherState;
  /** IDLE when the server offers it, else polling only. */
  mode: 'idle' | 'polling' | null;
  lastSyncAt: string | null;
  lastMessageAt: string | null;
  lastError: string | null;
  /** With `auth_failed`: the failure's short code (AADSTS7000215, invalid_grant, ...), for /metrics. */
  reasonCode: string | null;
  reconnects: number;
  /** When the state last changed: how long the mailbox has been disconnected, for the dashboard. */
  stateSince: string;
}

/** How often the live watcher reports, and after how long without a report it counts as gone. */
export const HEARTBEAT_MS = 5000;
export const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

const HOLDER = `${hostname()}:${process.pid}`;

/** Writes the live watcher's status for processes that do not watch the mailbox themselves. */
export async function publishWatcherStatus(db: DbOrTx, s: WatcherStatus): Promise<void> {
  const row = {
    holder: HOLDER,
    state: s.state,
    mode: s.mode,
    state_since: s.stateSince,
    last_sync_at: s.lastSyncAt,
    last_message_at: s.lastMessageAt,
    last_error: s.lastError,
    reason_code: s.reasonCode,
    reconnects: s.reconnects,
    heartbeat_at: sql<Date>`now()`,
  };
  await db.insertInto('mailbox_watchers').values({ mailbox: s.mailbox, ...row }).onConflict((oc) => oc.column('mailbox').doUpdateSet(row)).execute();
}

/**
 * The mailboxes as their live watchers last reported them. One nobody has reported on lately
 * (no process holds it, or the holder hangs) is `unwatched`, since the time of its last report.
 */
export async function readWatcherStatuses(db: DbOrTx, mailboxes: string[]): Promise<WatcherStatus[]> {
  if (!mailboxes.length) return [];
  const rows = await db
    .selectFrom('mailbox_watchers')
    .selectAll()
    .select(sql<boolean>`heartbeat_at < now() - make_interval(secs => ${STALE_AFTER_MS / 1000})`.as('stale'))
    .where('mailbox', 'in', mailboxes)
    .execute();
  const byMailbox = new Map(rows.map((r) => [r.mailbox, r]));
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return mailboxes.map((mailbox) => {
    const r = byMailbox.get(mailbox);
    if (!r) return { mailbox, state: 'unwatched', mode: null, lastSyncAt: null, lastMessageAt: null, lastError: 'no watcher has reported yet', reasonCode: null, reconnects: 0, stateSince: new Date(0).toISOString() };
    const base = { mailbox, mode: r.mode as WatcherStatus['mode'], lastSyncAt: iso(r.last_sync_at), lastMessageAt: iso(r.last_message_at), reconnects: r.reconnects, reasonCode: null };
    if (r.stale) return { ...base, state: 'unwatched', lastError: `no report from its watcher (${r.holder}) since ${r.heartbeat_at.toISOString()}`, stateSince: r.heartbeat_at.toISOString() };
    return { ...base, state: r.state as WatcherStatus['state'], lastError: r.last_error, reasonCode: r.reason_code, stateSince: r.state_since.toISOString() };
  });
}
