import { applyDecision, applyDecisions, countCasesSoFar, findCasesForMatching, type CaseDecision, type CaseForMatching } from '../cases/decisions';
import type { Db, Tx } from '../db/connection';
import type { HoldReason } from '../db/schema';
import { decide, type Decision } from './matching';
import { loadSenderFactsMany } from './repository';

export type MatchOutcome =
  | { result: 'decided'; reference: string; status: 'open' | 'suspended'; holdReason: string | null; outboxIds: string[] }
  | { result: 'skipped'; reason: 'missing' | 'already_decided' };

/** What follows a decision inside its transaction (notices, approval requests); returns outbox ids. */
export type AfterDecision = (tx: Tx, caseId: string) => Promise<string[]>;

/** What follows the opening of cases decided together, inside their one transaction; outbox ids by case id. */
export type AfterOpened = (tx: Tx, caseIds: string[]) => Promise<Map<string, string[]>>;

export interface MatchOptions {
  /** A sender over this many new cases in the window is held as `rate_limited`, mailing nobody. */
  senderLimit?: { max: number; windowMs: number };
  afterDecision?: AfterDecision;
  /**
   * Given, the job's cases that open are decided together in one transaction, their mail written
   * by this; without it, each takes a transaction of its own, as a held case always does.
   */
  afterOpened?: AfterOpened;
}

export type BatchMatchOutcome = MatchOutcome | { result: 'failed'; error: unknown };

/** A case to decide: what was found of it and the decision the rules and the holds give it. */
interface Ruling {
  caseId: string;
  found: CaseForMatching;
  decision: CaseDecision & { status: 'open' | 'suspended' };
}

/**
 * The match job's work: route each case, authorize its sender, and record the decision and what
 * follows from it. What the rules read about the cases and their senders is loaded once for all
 * of them. The cases that open (most of them: members writing in) are recorded together, with
 * their acknowledgements, in one transaction whose statements each cover all of them; a held case
 * (which may open an approval and takes per-company locks) is recorded in a transaction of its
 * own. Safe to run any number of times: only the first run that finds a case `new` decides it. A
 * case that fails does not stop the others; its outcome says why, in the order given.
 */
export async function matchCases(db: Db, caseIds: string[], options: MatchOptions = {}): Promise<BatchMatchOutcome[]> {
  const found = await findCasesForMatching(db, caseIds);
  const undecidedIds = [...new Set(caseIds.filter((id) => found.get(id)?.status === 'new'))];
  const undecided = undecidedIds.map((id) => found.get(id)!);
  const limit = options.senderLimit;
  const [facts, recent] = await Promise.all([
    loadSenderFactsMany(db, undecided.map((c) => ({ senderEmail: c.requesterEmail, recipients: c.recipients }))),
    limit ? countCasesSoFar(db, undecidedIds, limit.windowMs) : Promise.resolve(new Map<string, number>()),
  ]);
  const rulings = undecidedIds.map((caseId, i): Ruling => {
    const flooding = limit !== undefined && (recent.get(caseId) ?? 0) > limit.max;
    return { caseId, found: undecided[i]!, decision: finalDecision(undecided[i]!, decide(facts[i]!), flooding) };
  });
  const together = options.afterOpened ? rulings.filter((r) => r.decision.status === 'open') : [];
  const alone = rulings.filter((r) => !together.includes(r));

  const decided = new Map<string, BatchMatchOutcome>();
  const decideAlone = async (r: Ruling) => decided.set(r.caseId, await decideCase(db, r, options).catch((error: unknown) => ({ result: 'failed' as const, error })));
  const openTogether = async () => {
    const outcomes = await decideTogether(db, together, options.afterOpened!).catch(() => null);
    // One bad case must not hold back the rest: on failure, each is tried again on its own.
    if (outcomes) for (const [caseId, outcome] of outcomes) decided.set(caseId, outcome);
    else for (const r of together) await decideAlone(r);
  };
  // A few held cases at once, beside the opened ones: each waits on PostgreSQL most of its time.
  // A held case takes at most one address lock and then company locks; the opened ones take
  // address locks only, in one sorted statement: no two of them can deadlock.
  let next = 0;
  const lane = async () => {
    while (next < alone.length) await decideAlone(alone[next++]!);
  };
  await Promise.all([...(together.length ? [openTogether()] : []), ...Array.from({ length: Math.min(DECISIONS_AT_ONCE, alone.length) }, lane)]);
  return caseIds.map((caseId): BatchMatchOutcome => {
    if (!found.has(caseId)) return { result: 'skipped', reason: 'missing' };
    return decided.get(caseId) ?? { result: 'skipped', reason: 'already_decided' };
  });
}

const DECISIONS_AT_ONCE = 4;

function finalDecision(found: CaseForMatching, routed: Decision, flooding: boolean): Ruling['decision'] {
  // A listed contact whose message our receiving server did not vouch for is treated as a
  // stranger would be: held, with an approval request to the administrators.
  const unverifiedContact = found.senderVerified === false && (routed.status === 'open' || routed.holdReason === 'not_permitted');
  const override: HoldReason | null = found.intakeHold ?? (flooding ? 'rate_limited' : unverifiedContact ? 'sender_not_verified' : null);
  const status = override ? 'suspended' : routed.status;
  return {
    status,
    holdReason: override ?? (routed.status === 'open' ? null : routed.holdReason),
    companyId: routed.route?.companyId ?? (routed.route === null ? routed.companyId : null),
    infrastructureId: routed.route?.infrastructureId ?? null,
    route: routed.route?.rule ?? null,
  };
}

function decidedOutcome(r: Ruling, outboxIds: string[]): MatchOutcome {
  return { result: 'decided', reference: r.found.reference, status: r.decision.status, holdReason: r.decision.holdReason, outboxIds };
}

async function decideCase(db: Db, r: Ruling, options: MatchOptions): Promise<MatchOutcome> {
  const afterDecision = options.afterDecision ?? (async () => []);
  const outboxIds = await db.transaction().execute(async (tx) => ((await applyDecision(tx, r.caseId, r.decision)) ? afterDecision(tx, r.caseId) : null));
  return outboxIds === null ? { result: 'skipped', reason: 'already_decided' } : decidedOutcome(r, outboxIds);
}

/** The rulings' decisions and what follows them in one transaction; cases decided meanwhile by someone else are left out. */
async function decideTogether(db: Db, rulings: Ruling[], afterOpened: AfterOpened): Promise<Map<string, MatchOutcome>> {
  return db.transaction().execute(async (tx) => {
    const applied = await applyDecisions(tx, rulings.map((r) => ({ caseId: r.caseId, ...r.decision })));
    const mine = rulings.filter((r) => applied.has(r.caseId));
    const outboxIds = mine.length ? await afterOpened(tx, mine.map((r) => r.caseId)) : new Map<string, string[]>();
    return new Map(mine.map((r) => [r.caseId, decidedOutcome(r, outboxIds.get(r.caseId) ?? [])]));
  });
}
