import type { Logger } from 'pino';
import type { Db } from '../db/connection';
import { loadOutbox, markSent, recordFailure } from './outbox';
import { SendError, type MailTransport } from './transport';

/** Tries per outbox row before it is marked failed; the send queue's retry policy matches it. */
export const MAX_SEND_ATTEMPTS = 10;

export type DeliveryOutcome = { result: 'sent'; response: string } | { result: 'skipped'; reason: string } | { result: 'failed'; error: string };

/**
 * The send job's work: one outbox row through SMTP. A row leaves `pending` only once: `sent` with
 * the server's answer, or `failed` after a permanent refusal or the last attempt. A temporary
 * failure is recorded and thrown, so the queue retries it with backoff.
 */
export async function deliverOutboxRow(deps: { db: Db; transport: MailTransport; log: Logger }, id: string): Promise<DeliveryOutcome> {
  const row = await loadOutbox(deps.db, id);
  if (!row) return { result: 'skipped', reason: 'missing' };
  if (row.status !== 'pending') return { result: 'skipped', reason: row.status };
  try {
    const { response } = await deps.transport.send(row);
    await markSent(deps.db, id, response);
    deps.log.info({ outboxId: id, kind: row.kind, case: row.case_reference }, 'mail sent');
    return { result: 'sent', response };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    const final = (err instanceof SendError && err.permanent) || row.attempts + 1 >= MAX_SEND_ATTEMPTS;
    await recordFailure(deps.db, id, error, final);
    deps.log.warn({ outboxId: id, kind: row.kind, case: row.case_reference, attempt: row.attempts + 1, final, err: error }, 'mail not sent');
    if (final) return { result: 'failed', error };
    throw err;
  }
}
