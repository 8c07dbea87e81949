/**
 * A case's way from `new` to decided: what matching reads of the cases it decides, the decision
 * itself, the flood count, and the cases the recovery sweep must queue again.
 */
import { sql } from 'kysely';
import { databaseTimeAgo } from '../db/clock';
import type { DbOrTx, Tx } from '../db/connection';
import type { CaseStatus, HoldReason } from '../db/schema';

/**
 * What matching needs of each case, in one query: its sender and the recipients of its first
 * message. Cases that do not exist are absent.
 */
export async function findCasesForMatching(db: DbOrTx, caseIds: string[]) {
  const rows = caseIds.length
    ? await db
        .selectFrom('cases as c')
        .innerJoin('messages as m', 'm.case_id', 'c.id')
        .select(['c.id', 'c.reference', 'c.status', 'c.requester_email', 'm.recipients', 'c.intake_hold', 'c.sender_verified'])
        .where('c.id', 'in', caseIds)
        // The first message of each case: the one that opened it.
        .distinctOn('c.id')
        .orderBy('c.id')
        .orderBy('m.id')
        .execute()
    : [];
  return new Map(rows.map((row) => [row.id, { reference: row.reference, status: row.status, requesterEmail: row.requester_email, recipients: row.recipients, intakeHold: row.intake_hold, senderVerified: row.sender_verified }]));
}

export type CaseForMatching = NonNullable<ReturnType<Awaited<ReturnType<typeof findCasesForMatching>>['get']>>;

export interface CaseDecision {
  status: Exclude<CaseStatus, 'new'>;
  holdReason: HoldReason | null;
  companyId: string | null;
  infrastructureId: string | null;
  route: string | null;
}

/**
 * Records the matching decisions and their `decided` events, each if, and only if, its case is
 * still `new`: a retried or duplicated job finds nothing to update and changes nothing. One
 * statement for all of them (the events are inserted from the update's result): each round trip
 * costs more than its work. Returns the ids of the cases it decided.
 */
export async function applyDecisions(tx: Tx, decisions: Array<{ caseId: string } & CaseDecision>): Promise<Set<string>> {
  if (!decisions.length) return new Set();
  const input = JSON.stringify(
    decisions.map((d) => ({
      id: d.caseId,
      status: d.status,
      hold_reason: d.holdReason,
      company_id: d.companyId,
      infrastructure_id: d.infrastructureId,
      route: d.route,
      detail: { status: d.status, holdReason: d.holdReason, route: d.route },
    })),
  );
  const { rows } = await sql<{ id: string }>`
    with input as (
      select * from jsonb_to_recordset(${input}::jsonb)
        as d(id bigint, status text, hold_reason text, company_id bigint, infrastructure_id bigint, route text, detail jsonb)
    ), decided as (
      update cases c
         set status = d.status, hold_reason = d.hold_reason, company_id = d.company_id,
             infrastructure_id = d.infrastructure_id, route = d.route, decided_at = now(),
             first_decided_at = coalesce(c.first_decided_at, now())
        from input d
       where c.id = d.id and c.status = 'new'
      returning c.id, d.detail
    ), events as (
      insert into case_events (case_id, kind, actor, detail)
      select id, 'decided', 'matching', detail from decided
    )
    select id from decided`.execute(tx);
  return new Set(rows.map((r) => String(r.id)));
}

/**
 * For each case, how many cases its sender opened within the window up to and including it. Counted
 * up to the case, not up to now, so the answer does not depend on when the case is decided: the
 * sixth case of a flood is the first one over a limit of five, however the decisions interleave.
 */
export async function countCasesSoFar(db: DbOrTx, caseIds: string[], windowMs: number): Promise<Map<string, number>> {
  if (!caseIds.length) return new Map();
  const rows = await db
    .selectFrom('cases as c')
    .select((eb) => [
      'c.id',
      eb
        .selectFrom('cases as o')
        .select((o) => o.fn.countAll<string>().as('n'))
        .whereRef('o.requester_email', '=', 'c.requester_email')
        .whereRef('o.id', '<=', 'c.id')
        .where('o.created_at', '>', databaseTimeAgo(windowMs))
        .as('n'),
    ])
    .where('c.id', 'in', caseIds)
    .execute();
  return new Map(rows.map((r) => [r.id, Number(r.n ?? 0)]));
}

/** Cases still waiting for a decision after `graceMs` (database clock): the recovery sweep queues them again. */
export async function findUndecidedCaseIds(db: DbOrTx, graceMs: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('cases')
    .select('id')
    .where('status', '=', 'new')
    .where('created_at', '<=', databaseTimeAgo(graceMs))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}
