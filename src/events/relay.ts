/**
 * The relay: turns committed case events and audit rows into numbered public events, once, in
 * the order the feed hands them out (docs/events.md). One relay at a time (an advisory lock held
 * to commit), so an event id is visible only after every smaller one: a reader that passed a
 * cursor never finds an event behind it later.
 */
import { sql } from 'kysely';
import { markAuditRelayed } from '../audit/audit-log';
import { markCaseEventsRelayed } from '../cases/repository';
import type { DbOrTx, Tx } from '../db/connection';
import { fanOut, type StreamHead } from '../webhooks/deliveries';
import { publicEventOf, type EventDraft, type RecordedChange } from './catalog';

const RELAY_KEY = sql`hashtextextended('case-intake:events-relay', 0)`;
const BATCH = 500;

export interface RelayResult {
  /** Source rows read (public or not): none means the relay is up to date. */
  read: number;
  /** Events written. */
  events: number;
  /** The webhook streams that got deliveries, for their jobs. */
  streams: StreamHead[];
}

const NOTHING: RelayResult = { read: 0, events: 0, streams: [] };

interface Source {
  table: 'case_events' | 'audit_log';
  id: string;
  at: Date;
  change: RecordedChange;
}

async function unrelayed(tx: Tx, limit: number): Promise<Source[]> {
  const [events, audits] = await Promise.all([
    tx.selectFrom('case_events').select(['id', 'case_id', 'kind', 'actor', 'channel', 'detail', 'at']).where('event_id', 'is', null).orderBy('id').limit(limit).execute(),
    tx
      .selectFrom('audit_log')
      .select(['id', 'case_id', 'action', 'actor', 'channel', 'detail', 'at', 'approval_id', 'company_id', 'infrastructure_id', 'subject_email'])
      .where('event_id', 'is', null)
      .orderBy('id')
      .limit(limit)
      .execute(),
  ]);
  const none = { approvalId: null, companyId: null, infrastructureId: null, subjectEmail: null };
  return [
    ...events.map((e) => ({ table: 'case_events' as const, id: e.id, at: e.at, change: { source: 'case_event' as const, kind: e.kind, actor: e.actor, channel: e.channel, detail: e.detail, caseId: e.case_id, ...none } })),
    ...audits.map((a) => ({
      table: 'audit_log' as const,
      id: a.id,
      at: a.at,
      change: { source: 'audit' as const, kind: a.action, actor: a.actor, channel: a.channel, detail: a.detail, caseId: a.case_id, approvalId: a.approval_id, companyId: a.company_id, infrastructureId: a.infrastructure_id, subjectEmail: a.subject_email },
    })),
  ];
}

/**
 * The case facts every event of a case carries, so a consumer need not call back: what does not
 * change with its events (its status is in the events themselves, as it was then).
 */
async function caseFacts(tx: Tx, caseIds: string[]): Promise<Map<string, Record<string, unknown>>> {
  if (!caseIds.length) return new Map();
  const rows = await tx
    .selectFrom('cases as c')
    .leftJoin('infrastructures as i', 'i.id', 'c.infrastructure_id')
    .leftJoin('companies as co', 'co.id', 'c.company_id')
    .select(['c.id', 'c.reference', 'c.subject', 'c.requester_email', 'c.requester_name', 'i.key as infrastructure', 'co.key as company'])
    .where('c.id', 'in', [...new Set(caseIds)])
    .execute();
  return new Map(
    rows.map((r) => [r.id, { reference: r.reference, subject: r.subject, requester: { email: r.requester_email, name: r.requester_name }, company: r.company, infrastructure: r.infrastructure }]),
  );
}

/**
 * Relays up to `limit` rows of each source table, and fans the events out to the webhook
 * endpoints that take them, in one transaction. A change and what follows from it share a
 * transaction (and its `now()`): among rows of one time, case events first, then by id, as the
 * case page orders them. `wait: false` (a periodic caller) skips when another relay is running.
 */
export async function relayEvents(db: DbOrTx, { limit = BATCH, wait = true }: { limit?: number; wait?: boolean } = {}): Promise<RelayResult> {
  return db.transaction().execute(async (tx) => {
    if (wait) await sql`select pg_advisory_xact_lock(${RELAY_KEY})`.execute(tx);
    else if (!(await sql<{ got: boolean }>`select pg_try_advisory_xact_lock(${RELAY_KEY}) as got`.execute(tx)).rows[0]?.got) return NOTHING;
    const sources = (await unrelayed(tx, limit)).sort((a, b) => a.at.getTime() - b.at.getTime() || (a.table === b.table ? Number(BigInt(a.id) - BigInt(b.id)) : a.table === 'case_events' ? -1 : 1));
    if (!sources.length) return NOTHING;
    const drafts = sources.map((s) => publicEventOf(s.change));
    const facts = await caseFacts(tx, drafts.flatMap((d) => (d?.caseId ? [d.caseId] : [])));
    const rows = sources.flatMap((s, i) => {
      const d = drafts[i];
      return d ? [{ source: s, draft: d }] : [];
    });
    const ids = rows.length ? await tx.insertInto('events').values(rows.map(({ source, draft }) => eventRow(source, draft, facts))).returning('id').execute() : [];
    const eventOf = new Map(rows.map((r, i) => [r.source, ids[i]!.id]));
    const relayed = (table: Source['table']) => sources.filter((s) => s.table === table).map((s) => ({ id: s.id, eventId: eventOf.get(s) ?? '0' }));
    await markCaseEventsRelayed(tx, relayed('case_events'));
    await markAuditRelayed(tx, relayed('audit_log'));
    return { read: sources.length, events: rows.length, streams: await fanOut(tx, ids.map((r) => r.id)) };
  });
}

function eventRow(source: Source, draft: EventDraft, facts: Map<string, Record<string, unknown>>) {
  const theCase = draft.caseId ? (facts.get(draft.caseId) ?? null) : null;
  return { type: draft.type, stream: draft.stream, case_id: draft.caseId, occurred_at: source.at, data: JSON.stringify({ ...(theCase ? { case: theCase } : {}), ...draft.data }) };
}
