/**
 * The invariants a chaos phase must leave true, read with plain SQL from the service's database
 * and compared with what the run appended and what the SMTP server accepted.
 */
import type { Pool } from 'pg';
import type { MessageKind } from './mail';

export interface MessageCounts {
  appended: number;
  cases: number;
  kept: number;
  missing: number;
  duplicated: number;
  quarantined: number;
  /** Still `received` (stored, never turned into a case). */
  unprocessed: number;
  /** A person's message kept, or an automatic one made a case. */
  misclassified: number;
  /** A case row whose first message is not this raw message, or a raw message in no case. */
  caseMismatch: number;
  /** raw_messages rows that are none of the appended Message-IDs. */
  unexpectedRaw: number;
  casesTotal: number;
  casesNew: number;
  /** Cases with more or fewer than one `decided` event. */
  casesNotDecidedOnce: number;
  byStatus: Record<string, number>;
}

export async function checkMessages(db: Pool, appended: Map<string, MessageKind>): Promise<MessageCounts> {
  const raws = (await db.query<{ id: string; message_id: string | null; status: string; case_id: string | null }>('select id, message_id, status, case_id from raw_messages')).rows;
  const cases = (
    await db.query<{ id: string; status: string; first_raw: string | null; decided: string }>(
      `select c.id, c.status,
              (select m.raw_message_id from messages m where m.case_id = c.id order by m.id limit 1) as first_raw,
              (select count(*) from case_events e where e.case_id = c.id and e.kind = 'decided') as decided
         from cases c`,
    )
  ).rows;
  const byMid = new Map<string, typeof raws>();
  let unexpectedRaw = 0;
  for (const r of raws) {
    const key = (r.message_id ?? '').replace(/^<|>$/g, '');
    if (!appended.has(key)) {
      unexpectedRaw++;
      continue;
    }
    const list = byMid.get(key) ?? [];
    list.push(r);
    byMid.set(key, list);
  }
  const caseById = new Map(cases.map((c) => [c.id, c]));
  const c: MessageCounts = { appended: appended.size, cases: 0, kept: 0, missing: 0, duplicated: 0, quarantined: 0, unprocessed: 0, misclassified: 0, caseMismatch: 0, unexpectedRaw, casesTotal: cases.length, casesNew: 0, casesNotDecidedOnce: 0, byStatus: {} };
  for (const [mid, kind] of appended) {
    const rows = byMid.get(mid) ?? [];
    if (rows.length === 0) {
      c.missing++;
      continue;
    }
    if (rows.length > 1) c.duplicated++;
    const r = rows[0]!;
    if (r.status === 'quarantined') c.quarantined++;
    else if (r.status === 'received') c.unprocessed++;
    else if (r.status === 'kept') {
      c.kept++;
      if (kind !== 'automatic') c.misclassified++;
    } else if (r.status === 'case') {
      c.cases++;
      if (kind === 'automatic') c.misclassified++;
      const owner = r.case_id ? caseById.get(r.case_id) : undefined;
      if (!owner || owner.first_raw !== r.id) c.caseMismatch++;
    }
  }
  for (const k of cases) {
    c.byStatus[k.status] = (c.byStatus[k.status] ?? 0) + 1;
    if (k.status === 'new') c.casesNew++;
    else if (Number(k.decided) !== 1) c.casesNotDecidedOnce++;
  }
  // Every case is the case of exactly one appended message (nothing here replies to anything).
  if (cases.length !== c.cases) c.caseMismatch += Math.abs(cases.length - c.cases);
  return c;
}

export function messagesOk(c: MessageCounts): boolean {
  return c.missing === 0 && c.duplicated === 0 && c.quarantined === 0 && c.unprocessed === 0 && c.misclassified === 0 && c.caseMismatch === 0 && c.unexpectedRaw === 0 && c.casesNew === 0 && c.casesNotDecidedOnce === 0 && c.cases + c.kept === c.appended;
}

export interface OutboxCounts {
  rows: number;
  sent: number;
  pending: number;
  failed: number;
  bounced: number;
  /** Rows the SMTP server accepted more than once (same Message-ID). */
  sentTwice: number;
  /** `sent` rows the SMTP server never accepted. */
  sentNeverDelivered: number;
  /** Rows still `pending` that the SMTP server did accept (a send whose 250 was never recorded). */
  deliveredButPending: number;
  /** Accepted Message-IDs that are no outbox row. */
  strangerDeliveries: number;
  deliveries: number;
  /** Rows that needed more than one attempt (temporary failures recorded). */
  retried: number;
  byKind: Record<string, number>;
  /** Every row the SMTP server accepted more than once. */
  twice: Array<{ id: string; kind: string; messageId: string }>;
  /** Every `sent` row the SMTP server never accepted, with when it turned `sent`. */
  lost: Array<{ id: string; kind: string; sentAt: number }>;
}

export async function checkOutbox(db: Pool, deliveries: Map<string, number>): Promise<OutboxCounts> {
  const rows = (await db.query<{ id: string; kind: string; message_id: string; status: string; attempts: number; sent_at: Date | null }>('select id, kind, message_id, status, attempts, sent_at from outbox')).rows;
  const c: OutboxCounts = { rows: rows.length, sent: 0, pending: 0, failed: 0, bounced: 0, sentTwice: 0, sentNeverDelivered: 0, deliveredButPending: 0, strangerDeliveries: 0, deliveries: 0, retried: 0, byKind: {}, twice: [], lost: [] };
  const known = new Set<string>();
  for (const r of rows) {
    known.add(r.message_id);
    c.byKind[r.kind] = (c.byKind[r.kind] ?? 0) + 1;
    const n = deliveries.get(r.message_id) ?? 0;
    if (r.attempts > 0) c.retried++;
    if (n > 1) {
      c.sentTwice++;
      c.twice.push({ id: r.id, kind: r.kind, messageId: r.message_id });
    }
    if (r.status === 'sent') {
      c.sent++;
      if (n === 0) {
        c.sentNeverDelivered++;
        c.lost.push({ id: r.id, kind: r.kind, sentAt: r.sent_at?.getTime() ?? NaN });
      }
    } else if (r.status === 'pending') {
      c.pending++;
      if (n > 0) c.deliveredButPending++;
    } else if (r.status === 'failed') c.failed++;
    else if (r.status === 'bounced') c.bounced++;
  }
  for (const [mid, n] of deliveries) {
    c.deliveries += n;
    if (!known.has(mid)) c.strangerDeliveries += n;
  }
  return c;
}

/** After a phase has settled: every row sent, and accepted by the SMTP server exactly once. */
export function outboxOk(c: OutboxCounts): boolean {
  return c.pending === 0 && c.failed === 0 && c.sentTwice === 0 && c.sentNeverDelivered === 0 && c.strangerDeliveries === 0 && c.sent === c.rows;
}

export interface ApprovalCounts {
  approvals: number;
  pending: number;
  authorized: number;
  ignored: number;
  expired: number;
  /** Approvals with more than one approval_authorized/approval_ignored audit row. */
  decidedTwice: number;
  /** Status and audit trail disagree (decided without one decision row, pending with one). */
  inconsistent: number;
  /** Cases released (or ignored) more than once, and cases with more than one released notice. */
  casesReleasedTwice: number;
  releasedNoticesTwice: number;
  /** More than one pending request for the same requester and infrastructure. */
  duplicatePendingRequests: number;
}

export async function checkApprovals(db: Pool): Promise<ApprovalCounts> {
  const rows = (
    await db.query<{ id: string; status: string; decided_by: string | null; channel: string | null; decisions: string }>(
      `select a.id, a.status, a.decided_by, a.channel,
              (select count(*) from audit_log l where l.approval_id = a.id and l.action in ('approval_authorized', 'approval_ignored')) as decisions
         from approvals a`,
    )
  ).rows;
  const c: ApprovalCounts = { approvals: rows.length, pending: 0, authorized: 0, ignored: 0, expired: 0, decidedTwice: 0, inconsistent: 0, casesReleasedTwice: 0, releasedNoticesTwice: 0, duplicatePendingRequests: 0 };
  for (const r of rows) {
    const n = Number(r.decisions);
    if (r.status === 'pending') c.pending++;
    else if (r.status === 'authorized') c.authorized++;
    else if (r.status === 'ignored') c.ignored++;
    else if (r.status === 'expired') c.expired++;
    if (n > 1) c.decidedTwice++;
    const decided = r.status === 'authorized' || r.status === 'ignored';
    if ((decided && (n !== 1 || !r.decided_by || !r.channel)) || (r.status === 'pending' && n !== 0)) c.inconsistent++;
  }
  const one = async (q: string) => Number((await db.query<{ n: string }>(q)).rows[0]?.n ?? 0);
  c.casesReleasedTwice = await one(`select count(*) as n from (select case_id from case_events where kind in ('released', 'ignored') group by case_id having count(*) > 1) x`);
  c.releasedNoticesTwice = await one(`select count(*) as n from (select case_id from outbox where kind = 'released_notice' group by case_id having count(*) > 1) x`);
  c.duplicatePendingRequests = await one(`select count(*) as n from (select requester_email, infrastructure_id from approvals where status = 'pending' group by 1, 2 having count(*) > 1) x`);
  return c;
}

export function approvalsOk(c: ApprovalCounts, httpDoubleWins: number): boolean {
  return c.decidedTwice === 0 && c.inconsistent === 0 && c.casesReleasedTwice === 0 && c.releasedNoticesTwice === 0 && c.duplicatePendingRequests === 0 && httpDoubleWins === 0;
}

/** Still to do: what settling waits for. */
export async function backlog(db: Pool, appended: number): Promise<{ done: number; appended: number; received: number; casesNew: number; outboxPending: number; outboxRetrying: number }> {
  const r = (
    await db.query<{ done: string; received: string; cases_new: string; pending: string; retrying: string }>(
      `select (select count(distinct message_id) from raw_messages where status in ('case', 'kept', 'quarantined')) as done,
              (select count(*) from raw_messages where status = 'received') as received,
              (select count(*) from cases where status = 'new') as cases_new,
              (select count(*) from outbox where status = 'pending') as pending,
              (select count(*) from outbox where status = 'pending' and attempts > 0) as retrying`,
    )
  ).rows[0]!;
  return { done: Number(r.done), appended, received: Number(r.received), casesNew: Number(r.cases_new), outboxPending: Number(r.pending), outboxRetrying: Number(r.retrying) };
}
