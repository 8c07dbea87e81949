import { applyDecision, findCaseForMatching } from '../cases/repository';
import type { Db } from '../db/connection';
import { decide } from './matching';
import { loadSenderFacts } from './repository';

export type MatchOutcome =
  | { result: 'decided'; status: 'open' | 'suspended'; holdReason: string | null }
  | { result: 'skipped'; reason: 'missing' | 'already_decided' };

/**
 * The match job's work: route the case, authorize its sender, record the decision. Safe to run
 * any number of times for the same case; only the first run that finds it `new` decides.
 */
export async function matchCase(db: Db, caseId: string): Promise<MatchOutcome> {
  const found = await findCaseForMatching(db, caseId);
  if (!found) return { result: 'skipped', reason: 'missing' };
  if (found.status !== 'new') return { result: 'skipped', reason: 'already_decided' };

  const decision = decide(await loadSenderFacts(db, found.requesterEmail, found.recipients));
  const applied = await applyDecision(db, caseId, {
    status: decision.status,
    holdReason: decision.status === 'open' ? null : decision.holdReason,
    companyId: decision.route?.companyId ?? (decision.route === null ? decision.companyId : null),
    infrastructureId: decision.route?.infrastructureId ?? null,
    route: decision.route?.rule ?? null,
  });
  if (!applied) return { result: 'skipped', reason: 'already_decided' };
  return { result: 'decided', status: decision.status, holdReason: decision.status === 'open' ? null : decision.holdReason };
}
