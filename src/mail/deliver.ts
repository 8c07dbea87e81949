import type { Logger } from 'pino';
import type { Db } from '../db/connection';
import { commitSent, loadOutbox, recordFailure, recordResponse } from './outbox';
import { SendError, type MailTransport, type SendOutcome } from './transport';

/** Tries per outbox row before it is marked failed; the send queue's retry policy matches it. */
export const MAX_SEND_ATTEMPTS = 10;

export type DeliveryOutcome = { result: 'sent'; response: string } | { result: 'skipped'; reason: string } | { result: 'failed'; error: string };

/**
 * The send job's work: one outbox row through SMTP, sent once even when the process is killed
 * or two workers run the same job. The decision is a database commit placed inside the SMTP DATA
 * phase, after the message's bytes and before the end-of-data dot (an SMTP server discards a
 * message whose connection drops before the dot): the row goes `pending` → `sent` only if it is
 * still `pending`, and only then is the dot sent. A worker that finds the row taken withdraws
 * (drops the connection without the dot) and skips it.
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
}

export async function deliverOutboxRow(deps: DeliveryDeps, id: string): Promise<DeliveryOutcome> {
  const row = await loadOutbox(deps.db, id);
  if (!row) return { result: 'skipped', reason: 'missing' };
  if (row.status !== 'pending') return { result: 'skipped', reason: row.status };
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
  // The row is `sent` already; the server's answer is for the record only.
  await recordResponse(deps.db, id, outcome.response).catch((err: unknown) => deps.log.warn({ ...line, err: err instanceof Error ? err.message : String(err) }, 'smtp response not recorded'));
  deps.log.info(line, 'mail sent');
  return { result: 'sent', response: outcome.response };
}
