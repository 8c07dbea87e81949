/**
 * What both edges of casework share (the API's JSON in routes/api-casework.ts, the dashboard's
 * forms in routes/dashboard/casework.ts): the fields' rules, how a refused body reads, and what
 * follows a reply once its transaction committed.
 */
import { z } from 'zod';
import { WORK_STATUSES } from '../cases/lifecycle';
import type { ReplyOutcome } from '../cases/work';
import type { WorkStatus } from '../db/schema';
import { DomainError } from '../errors';
import type { WebDeps } from './deps';

export const workStatus = z.enum(WORK_STATUSES as [WorkStatus, ...WorkStatus[]]);
export const caseText = z.string().refine((t) => t.trim() !== '', 'must not be empty');

/** The body as `schema` reads it, or an `invalid_input` error that lists each field's problem. */
export function parseInput<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new DomainError('invalid_input', 'invalid body', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`));
  return parsed.data;
}

/** After a reply committed: its mail goes out, and a case's first answer is timed (the first-response histogram). */
export async function afterReply(deps: Pick<WebDeps, 'enqueueDeliveries' | 'onFirstResponse'>, outcome: ReplyOutcome): Promise<void> {
  await deps.enqueueDeliveries(outcome.outboxIds);
  if (outcome.firstResponseSeconds !== null) deps.onFirstResponse?.(outcome.firstResponseSeconds);
}
