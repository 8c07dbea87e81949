import { applyDecision, countRecentCases, findCaseForMatching } from '../cases/repository';
import type { Db, Tx } from '../db/connection';
import type { HoldReason } from '../db/schema';
import { decide } from './matching';
import { loadSenderFacts } from './repository';

export type MatchOutcome =
  | { result: 'decided'; reference: string; status: 'open' | 'suspended'; holdReason: string | null; outboxIds: string[] }
  | { result: 'skipped'; reason: 'missing' | 'already_decided' };

/** What follows a decision inside its transaction (notices, approval requests); returns outbox ids. */
export type AfterDecision = (tx: Tx, caseId: string) => Promise<string[]>;

/**
 * The match job's work: route the case, authorize its sender, record the decision and what
 * follows from it in one transaction. Safe to run any number of times for the same case; only
 * the first run that finds it `new` decides.
 */
export interface MatchOptions {
  /** A sender over this many new cases in the window is held as `rate_limited`, mailing nobody. */
  senderLimit?: { max: number; windowMs: number };
  afterDecision?: AfterDecision;
}

export async function matchCase(db: Db, caseId: string, options: MatchOptions = {}): Promise<MatchOutcome> {
  const afterDecision = options.afterDecision ?? (async () => []);
  const found = await findCaseForMatching(db, caseId);
  if (!found) return { result: 'skipped', reason: 'missing' };
  if (found.status !== 'new') return { result: 'skipped', reason: 'already_decided' };

  const routed = decide(await loadSenderFacts(db, found.requesterEmail, found.recipients));
  const limit = options.senderLimit;
  const flooding = limit !== undefined && (await countRecentCases(db, found.requesterEmail, limit.windowMs)) > limit.max;
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
