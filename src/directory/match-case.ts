import { applyDecision, countCasesSoFar, findCasesForMatching, type CaseForMatching } from '../cases/decisions';
import type { Db, Tx } from '../db/connection';
import type { HoldReason } from '../db/schema';
import { decide, type Decision } from './matching';
import { loadSenderFactsMany } from './repository';

export type MatchOutcome =
  | { result: 'decided'; reference: string; status: 'open' | 'suspended'; holdReason: string | null; outboxIds: string[] }
  | { result: 'skipped'; reason: 'missing' | 'already_decided' };

/** What follows a decision inside its transaction (notices, approval requests); returns outbox ids. */
export type AfterDecision = (tx: Tx, caseId: string) => Promise<string[]>;

export interface MatchOptions {
  /** A sender over this many new cases in the window is held as `rate_limited`, mailing nobody. */
  senderLimit?: { max: number; windowMs: number };
  afterDecision?: AfterDecision;
}

export type BatchMatchOutcome = MatchOutcome | { result: 'failed'; error: unknown };

/**
 * The match job's work: route each case, authorize its sender, and record the decision and what
 * follows from it in one transaction per case. What the rules read about the cases and their
 * senders is loaded once for all of them. Safe to run any number of times: only the first run that
 * finds a case `new` decides it. A case that fails does not stop the others; its outcome says why,
 * in the order given.
 */
export async function matchCases(db: Db, caseIds: string[], options: MatchOptions = {}): Promise<BatchMatchOutcome[]> {
  const found = await findCasesForMatching(db, caseIds);
  const undecidedIds = caseIds.filter((id) => found.get(id)?.status === 'new');
  const undecided = undecidedIds.map((id) => found.get(id)!);
  const limit = options.senderLimit;
  const [facts, recent] = await Promise.all([
    loadSenderFactsMany(db, undecided.map((c) => ({ senderEmail: c.requesterEmail, recipients: c.recipients }))),
    limit ? countCasesSoFar(db, undecidedIds, limit.windowMs) : Promise.resolve(new Map<string, number>()),
  ]);
  const factsOf = new Map(undecided.map((c, i) => [c, facts[i]!]));
  const outcomes: BatchMatchOutcome[] = new Array<BatchMatchOutcome>(caseIds.length);
  const one = async (index: number): Promise<void> => {
    const caseId = caseIds[index]!;
    const c = found.get(caseId);
    if (!c) outcomes[index] = { result: 'skipped', reason: 'missing' };
    else if (c.status !== 'new') outcomes[index] = { result: 'skipped', reason: 'already_decided' };
    else {
      const flooding = limit !== undefined && (recent.get(caseId) ?? 0) > limit.max;
      outcomes[index] = await decideCase(db, caseId, c, decide(factsOf.get(c)!), flooding, options).catch((error: unknown) => ({ result: 'failed' as const, error }));
    }
  };
  // A few decisions at once: each waits on PostgreSQL most of its time. Each takes at most one
  // address lock and then one company lock, as decisions in separate jobs do, so they cannot
  // deadlock one another.
  let next = 0;
  const lane = async () => {
    while (next < caseIds.length) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(DECISIONS_AT_ONCE, caseIds.length) }, lane));
  return outcomes;
}

const DECISIONS_AT_ONCE = 4;

async function decideCase(db: Db, caseId: string, found: CaseForMatching, routed: Decision, flooding: boolean, options: MatchOptions): Promise<MatchOutcome> {
  const afterDecision = options.afterDecision ?? (async () => []);
  // A listed contact whose message our receiving server did not vouch for is treated as a
  // stranger would be: held, with an approval request to the administrators.
  const unverifiedContact = found.senderVerified === false && (routed.status === 'open' || routed.holdReason === 'not_permitted');
  const override: HoldReason | null = found.intakeHold ?? (flooding ? 'rate_limited' : unverifiedContact ? 'sender_not_verified' : null);
  const decision = override ? { ...routed, status: 'suspended' as const, holdReason: override } : routed;
  const holdReason = decision.status === 'open' ? null : decision.holdReason;
  const outboxIds = await db.transaction().execute(async (tx) => {
    const applied = await applyDecision(tx, caseId, {
      status: decision.status,
      holdReason,
      companyId: decision.route?.companyId ?? (decision.route === null ? decision.companyId : null),
      infrastructureId: decision.route?.infrastructureId ?? null,
      route: decision.route?.rule ?? null,
    });
    return applied ? afterDecision(tx, caseId) : null;
  });
  if (outboxIds === null) return { result: 'skipped', reason: 'already_decided' };
  return { result: 'decided', reference: found.reference, status: decision.status, holdReason, outboxIds };
}
