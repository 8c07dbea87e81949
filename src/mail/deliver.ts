import type { Logger } from 'pino';
import type { Db, Pool } from '../db/connection';
import { loadOutboxRows, markSent, recordFailure, recordResponses, type OutboxRow } from './outbox';
import { takeForSending, type SendClaim } from './send-claim';
import { revealRow, type OutboxSealer } from './sealed-secrets';
import { loadMailAttachments } from './attachments';
import type { OutgoingMail } from './compose';
import type { CommitPoint } from './commit-point';
import { SendError, type MailTransport, type SendOutcome } from './transport';
import { errorMessage } from '../errors';

/** Tries per outbox row before it is marked failed; the send queue's retry policy matches it. */
export const MAX_SEND_ATTEMPTS = 10;

export type DeliveryOutcome = { result: 'sent'; response: string } | { result: 'skipped'; reason: string } | { result: 'failed'; error: string };

/**
 * How each outbox row goes through SMTP (a send job runs this for each row of its batch): sent
 * once even when the process is killed or two workers run the same job. The decision is a
 * database commit placed inside the SMTP DATA phase, just before the message and its end-of-data
 * dot (an SMTP server discards a message whose connection drops before the dot):
 *
 * 1. take: a transaction turns the row `pending` → `sent` if it is still `pending`, holding its
 *    lock. The first row of a batch takes one round trip for it; each next row is taken on the
 *    same connection right behind the previous row's COMMIT (written when the COMMIT's answer
 *    comes, while the server answers the dot). A row found no longer pending is skipped, no SMTP
 *    at all (another worker sent it, or holds it: the take waits for that worker's commit). A
 *    kill -9 from here to step 2 rolls the transaction back (the connection drops) and drops the
 *    DATA: nothing sent, the row still pending.
 * 2. the envelope, and DATA; at the server's 354, COMMIT is written, and then the message with
 *    its dot in one write, neither waiting for an answer (the transport's commit point). A kill
 *    -9 after both: PostgreSQL has the COMMIT, the server has the dot.
 * 3. Both answers are awaited.
 *
 * What is left of a window is the time between two writes: a kill -9 there loses the mail (the
 * row says `sent`), never doubles it. That time is more than two system calls on a busy machine:
 * the COMMIT wakes PostgreSQL, which can take the CPU before the second write (measured on the
 * bench: 0.16 ms at the median, 2.5 to 3.5 ms at the 99th percentile). So PostgreSQL is given only
 * the COMMIT to do there (the next row's take waits behind it), and nothing is prepared or
 * allocated between the writes. The dot does not wait for the commit's answer: a kill in that
 * round trip would lose the mail, and a round trip is far longer than the time between two
 * writes (docs/faults.md: one to six mails lost in each chaos run that way).
 *
 * A COMMIT that cannot be written (its connection already lost: PostgreSQL restarting) is not
 * followed by the dot: the send fails and is retried, rather than delivered with its row still
 * pending and sent again.
 *
 * Failures before the commit roll the take back, are recorded and thrown (the queue retries with
 * backoff); a 5xx answer or the last attempt marks the row `failed`. A refusal at the end of
 * data, or a connection lost while waiting for the answer, undoes the commit (`sent` →
 * `pending`, or `failed`). A commit that failed (PostgreSQL restarting) while the server took
 * the message is made good by a second update, so the retry does not send it again.
 *
 * Still possible: a connection lost after the dot but before the server's answer is retried, so
 * a server that had taken the message gets it twice (nothing on the client side can tell); a
 * commit that failed and a second update that cannot reach PostgreSQL either leave the row
 * `pending` with the mail delivered (sent again by the retry); a database crash (not a restart)
 * can forget an unflushed commit (see `commitPool`), with the same result.
 */
export interface DeliveryDeps {
  db: Db;
  /**
   * Where the commit point runs: plain pg clients whose commits do not wait for the disk, so a
   * send's COMMIT (and the next row's take with it) is not held up by a WAL flush. A send job
   * holds one of them for its whole batch.
   */
  commitPool: Pool;
  transport: MailTransport;
  /** Opens each row's sealed links (LINK_SECRET's key) just before its message is composed. */
  sealer: OutboxSealer;
  log: Logger;
  /** Told, after each send's dot, how long its commit point stayed open (seconds from the COMMIT's write to the dot's). */
  onCommitWindow?: (seconds: number) => void;
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
 * transport reuses its connection, and each row is taken right behind the previous one's COMMIT). The
 * rows are loaded in one statement and the servers' answers recorded in one. A row that fails
 * does not stop the others; if any failure is worth retrying, the first is thrown once all have
 * had their turn, and the retry finds the rows that went out no longer pending. Outcomes in the
 * order given.
 */
export async function deliverOutboxRows(deps: DeliveryDeps, ids: string[]): Promise<DeliveryOutcome[]> {
  const rows = await loadOutboxRows(deps.db, ids);
  const outcomes: DeliveryOutcome[] = [];
  const answers: Array<{ id: string; response: string }> = [];
  let retry: { error: unknown } | null = null;
  const toSend = ids.filter((id) => rows.get(id)?.status === 'pending');
  const chain: Chain = {};
  for (const id of ids) {
    const row = rows.get(id);
    if (deps.stopping?.aborted) {
      retry ??= { error: new Error('the process is stopping: the rest of the batch is left to the retry') };
      break;
    }
    if (!row || row.status !== 'pending') {
      outcomes.push({ result: 'skipped', reason: row ? row.status : 'missing' });
      continue;
    }
    const next = toSend[toSend.indexOf(id) + 1];
    try {
      const outcome = await deliverRow(deps, row, chain, () => (deps.stopping?.aborted ? undefined : next));
      outcomes.push(outcome);
      if (outcome.result === 'sent') answers.push({ id, response: outcome.response });
    } catch (error) {
      retry ??= { error };
    }
  }
  // A row taken behind the last commit that the batch did not get to (the process is stopping).
  await chain.taken?.then((claim) => claim?.abandon()).catch(() => undefined);
  await recordResponses(deps.db, answers).catch((err: unknown) => deps.log.warn({ count: answers.length, err: errorMessage(err) }, 'smtp responses not recorded'));
  if (retry) throw retry.error;
  return outcomes;
}

/**
 * The claim on the batch's next row, set when a row's commit queued its take (whatever becomes
 * of that row's send afterwards), and used by the next row.
 */
interface Chain {
  taken?: Promise<SendClaim | null | undefined>;
}

/**
 * One row through the commit point, on the claim taken for it behind the previous row's commit
 * if any (`chain`); `next` names the row to take behind this one's commit.
 */
async function deliverRow(deps: DeliveryDeps, row: OutboxRow, chain: Chain, next: () => string | undefined): Promise<DeliveryOutcome> {
  const id = row.id;
  const line = { outboxId: id, kind: row.kind, case: row.case_reference };
  const taken = chain.taken;
  chain.taken = undefined;
  let claim: SendClaim | null = null;
  // What the row says now, as far as this worker knows (see SendClaim.state).
  const rowState = (): 'pending' | 'sent' | 'either' => {
    const state = claim?.state;
    return state === 'committed' ? 'sent' : state === 'committing' ? 'either' : 'pending';
  };
  let outcome: SendOutcome;
  try {
    const held = await taken;
    claim = held === undefined ? await takeForSending(deps.commitPool, id) : held;
    if (!claim) {
      deps.log.info(line, 'mail left to the worker that took it');
      return { result: 'skipped', reason: 'no longer pending' };
    }
    // Everything the message needs, its attachments too, is at hand before the transport starts:
    // the commit point only writes what compose built.
    const mail: OutgoingMail = { ...revealed(deps.sealer, row), attachments: await loadMailAttachments(deps.db, row.message_ref) };
    const point: CommitPoint = {
      commit: (writeTheDot) => {
        const after = next();
        const opened = process.hrtime.bigint();
        const committing = claim!.commit(() => {
          writeTheDot();
          deps.onCommitWindow?.(Number(process.hrtime.bigint() - opened) / 1e9);
        }, after);
        if (after !== undefined) chain.taken = claim!.successor;
        return committing;
      },
    };
    outcome = await deps.transport.send(mail, point);
  } catch (err) {
    // The commit was never written: the take is rolled back (a failed rollback ends the
    // connection, which does the same).
    if (claim?.state === 'open') await claim.abandon().catch(() => undefined);
    const error = errorMessage(err);
    const final = (err instanceof SendError && err.permanent) || row.attempts + 1 >= MAX_SEND_ATTEMPTS;
    const from = rowState();
    try {
      await recordFailure(deps.db, id, error, final, from);
    } catch (recordErr) {
      if (from !== 'pending') deps.log.error({ ...line, err: error }, 'mail not sent, and its row may still say sent');
      throw recordErr;
    }
    deps.log.warn({ ...line, attempt: row.attempts + 1, final, afterCommit: from !== 'pending', err: error }, 'mail not sent');
    if (final) return { result: 'failed', error };
    throw err;
  }
  if (rowState() !== 'sent') {
    // The server took the mail, but the commit failed or its answer was lost.
    try {
      await markSent(deps.db, id);
    } catch (err) {
      deps.log.error({ ...line, err: errorMessage(err) }, 'mail sent, but its row could not be marked sent: it will be sent again');
      throw err;
    }
  }
  // The row is `sent` already; the server's answer is recorded with the batch's, for the record only.
  deps.log.info(line, 'mail sent');
  return { result: 'sent', response: outcome.response };
}

/** The row with its links put back; a row whose sealed links no key opens cannot be sent, ever. */
function revealed(sealer: OutboxSealer, row: OutboxRow): OutboxRow {
  try {
    return revealRow(sealer, row);
  } catch (err) {
    throw new SendError(errorMessage(err), true);
  }
}
