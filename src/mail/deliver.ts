import type { Logger } from 'pino';
import type { Db } from '../db/connection';
import { commitSent, loadOutboxRows, recordFailure, recordResponses, type OutboxRow } from './outbox';
import { SendError, type MailTransport, type SendOutcome } from './transport';

/** Tries per outbox row before it is marked failed; the send queue's retry policy matches it. */
export const MAX_SEND_ATTEMPTS = 10;

export type DeliveryOutcome = { result: 'sent'; response: string } | { result: 'skipped'; reason: string } | { result: 'failed'; error: string };

/**
 * How each outbox row goes through SMTP (a send job runs this for each row of its batch): sent
 * once even when the process is killed or two workers run the same job. The decision is a
 * database commit placed inside the SMTP DATA phase, after the message's bytes and before the
 * end-of-data dot (an SMTP server discards a message whose connection drops before the dot):
 * the row goes `pending` → `sent` only if it is still `pending`, and only then is the dot sent.
 * A worker that finds the row taken withdraws (drops the connection without the dot) and skips it.
 *
 * Failures before the commit are recorded and thrown (the queue retries with backoff); a 5xx
 * answer or the last attempt marks the row `failed`. A refusal at the end of data, or a
 * connection lost while waiting for the answer, undoes the commit the same way (`sent` →
 * `pending`, or `failed`).
 *
 * What is left: a kill -9 between the commit taking effect in PostgreSQL and the dot leaving the
 * process (the commit's round trip; see `commitDb`) leaves the row `sent` and the mail never
 * delivered, lost rather than doubled; a kill
 * after the dot leaves it `sent`, which is right once the server answers. A connection lost after
 * the dot but before the server's answer is retried, so a server that had taken the message gets
 * it twice (nothing on the client side can tell). A commit whose answer from PostgreSQL is lost,
 * or an undo that cannot reach PostgreSQL, also leaves the row `sent` without the mail.
 */
export interface DeliveryDeps {
  db: Db;
  /**
   * Where the commit point runs: a pool whose commits do not wait for the disk, so the time
   * between the commit and the dot, in which a kill -9 loses the mail, is one round trip rather
   * than a WAL flush (tens of milliseconds on a loaded machine). A database crash in that
   * moment forgets the commit and the row is sent again; a restart does not. Defaults to `db`.
   */
  commitDb?: Db;
  transport: MailTransport;
  log: Logger;
  /**
   * Aborted when the process begins to stop: a batch ends after the row in hand (its other rows
   * stay pending for the job's retry), so SIGTERM waits for one mail, not for a whole batch.
   */
  stopping?: AbortSignal;
}

/** One outbox row's delivery: see `deliverOutboxRows`. Throws when the attempt is to be retried. */
export async function deliverOutboxRow(deps: DeliveryDeps, id: string): Promise<DeliveryOutcome> {
  return (await deliverOutboxRows(deps, [id]))[0]!;
}

/**
 * The send job's work: a batch of rows, one SMTP transaction each, one after another (the
 * transport reuses its connection). The rows are loaded in one statement and the servers'
 * answers recorded in one. A row that fails does not stop the others; if any failure is worth
 * retrying, the first is thrown once all have had their turn, and the retry finds the rows that
 * went out no longer pending. Outcomes in the order given.
 */
export async function deliverOutboxRows(deps: DeliveryDeps, ids: string[]): Promise<DeliveryOutcome[]> {
  const rows = await loadOutboxRows(deps.db, ids);
  const outcomes: DeliveryOutcome[] = [];
  const answers: Array<{ id: string; response: string }> = [];
  let retry: { error: unknown } | null = null;
  for (const id of ids) {
    if (deps.stopping?.aborted) {
      retry ??= { error: new Error('the process is stopping: the rest of the batch is left to the retry') };
      break;
    }
    const row = rows.get(id);
    if (!row) {
      outcomes.push({ result: 'skipped', reason: 'missing' });
      continue;
    }
    try {
      const outcome = await deliverRow(deps, row);
      outcomes.push(outcome);
      if (outcome.result === 'sent') answers.push({ id, response: outcome.response });
    } catch (error) {
      retry ??= { error };
    }
  }
  await recordResponses(deps.db, answers).catch((err: unknown) => deps.log.warn({ count: answers.length, err: err instanceof Error ? err.message : String(err) }, 'smtp responses not recorded'));
  if (retry) throw retry.error;
  return outcomes;
}

async function deliverRow(deps: DeliveryDeps, row: OutboxRow): Promise<DeliveryOutcome> {
  if (row.status !== 'pending') return { result: 'skipped', reason: row.status };
  const id = row.id;
  const line = { outboxId: id, kind: row.kind, case: row.case_reference };
  let committed = false;
  let outcome: SendOutcome;
  try {
    outcome = await deps.transport.send(row, async () => (committed = await commitSent(deps.commitDb ?? deps.db, id)));
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    const final = (err instanceof SendError && err.permanent) || row.attempts + 1 >= MAX_SEND_ATTEMPTS;
    try {
      await recordFailure(deps.db, id, error, final, committed ? 'sent' : 'pending');
    } catch (recordErr) {
      if (committed) deps.log.error({ ...line, err: error }, 'mail not sent, and its row still says sent');
      throw recordErr;
    }
    deps.log.warn({ ...line, attempt: row.attempts + 1, final, afterCommit: committed, err: error }, 'mail not sent');
    if (final) return { result: 'failed', error };
    throw err;
  }
  if (outcome.result === 'withdrawn') {
    deps.log.info(line, 'mail left to the worker that took it');
    return { result: 'skipped', reason: 'no longer pending' };
  }
  // The row is `sent` already; the server's answer is recorded with the batch's, for the record only.
  deps.log.info(line, 'mail sent');
  return { result: 'sent', response: outcome.response };
}
