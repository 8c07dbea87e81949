import { applyDecisions, countCasesSoFar, findCasesForMatching, type CaseDecision, type CaseForMatching } from '../cases/decisions';
import type { Db, Tx } from '../db/connection';
import type { HoldReason } from '../db/schema';
import { decide, type MatchDecision } from './matching';
import { loadSenderFactsMany } from './repository';

export type MatchOutcome =
  | { result: 'decided'; reference: string; status: 'open' | 'suspended'; holdReason: string | null; outboxIds: string[] }
  | { result: 'skipped'; reason: 'missing' | 'already_decided' };

/** What follows decisions inside their transaction (notices, approval requests): outbox ids by case id. */
export type AfterDecisions = (tx: Tx, caseIds: string[]) => Promise<Map<string, string[]>>;

export interface MatchOptions {
  /** A sender over this many new cases in the window is held as `rate_limited`, mailing nobody. */
  senderLimit?: { max: number; windowMs: number };
  afterDecisions?: AfterDecisions;
  /** Told when deciding the cases together failed and each is tried alone (a deadlock, a bad case). */
  onTogetherFailed?: (error: unknown, caseCount: number) => void;
}

export type BatchMatchOutcome = MatchOutcome | { result: 'failed'; error: unknown };

/** A case to decide: what was found of it and the decision the rules and the holds give it. */
interface Ruling {
  caseId: string;
  found: CaseForMatching;
  decision: CaseDecision & { status: 'open' | 'suspended' };
}

/**
 * The match job's work: route each case, authorize its sender, and record the decisions and what
 * follows from them. What the rules read about the cases and their senders is loaded once for all
 * of them, and the decisions and their mail are written together, in one transaction whose
 * statements each cover all of them. Safe to run any number of times: only the first run that
 * finds a case `new` decides it. If that transaction fails, each case is tried on its own, so a
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
  const afterDecisions = options.afterDecisions ?? (async () => new Map<string, string[]>());
  let decided = rulings.length
    ? await decideTogether(db, rulings, afterDecisions).catch((error: unknown) => {
        options.onTogetherFailed?.(error, rulings.length);
        return null;
      })
    : new Map<string, BatchMatchOutcome>();
  if (!decided) {
    // One bad case must not hold back the rest: each is tried again on its own.
    decided = new Map();
    for (const r of rulings) decided.set(r.caseId, await decideTogether(db, [r], afterDecisions).then((one) => one.get(r.caseId) ?? alreadyDecided, (error: unknown) => ({ result: 'failed' as const, error })));
  }
  return caseIds.map((caseId): BatchMatchOutcome => (found.has(caseId) ? (decided.get(caseId) ?? alreadyDecided) : { result: 'skipped', reason: 'missing' }));
}

const alreadyDecided: MatchOutcome = { result: 'skipped', reason: 'already_decided' };

function finalDecision(found: CaseForMatching, routed: MatchDecision, flooding: boolean): Ruling['decision'] {
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

/** The rulings' decisions and what follows them in one transaction; cases decided meanwhile by someone else are left out. */
async function decideTogether(db: Db, rulings: Ruling[], afterDecisions: AfterDecisions): Promise<Map<string, MatchOutcome>> {
  return db.transaction().execute(async (tx) => {
    const applied = await applyDecisions(tx, rulings.map((r) => ({ caseId: r.caseId, ...r.decision })));
    const mine = rulings.filter((r) => applied.has(r.caseId));
    const outboxIds = mine.length ? await afterDecisions(tx, mine.map((r) => r.caseId)) : new Map<string, string[]>();
    return new Map(mine.map((r) => [r.caseId, decidedOutcome(r, outboxIds.get(r.caseId) ?? [])]));
  });
}
