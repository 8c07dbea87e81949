import type pg from 'pg';
import type { Pool } from '../db/connection';

/*
 * The PostgreSQL side of a send's commit point (see deliver.ts): a row taken in a transaction of
 * its own on a plain pg client, committed from inside the transport's write of the dot.
 */

/**
 * A row taken for sending: in a transaction still open on a connection of its own, the row is
 * `sent` and locked. Exactly one of `commit` or `abandon` is called, once.
 */
export interface SendClaim {
  /**
   * Where the transaction is: `committing` from the COMMIT's write until PostgreSQL confirms it,
   * and still `committing` if the commit failed (an error can mean it rolled back or that its
   * answer was lost with the connection).
   */
  readonly state: 'open' | 'committing' | 'committed' | 'abandoned';
  /**
   * Writes COMMIT to PostgreSQL and calls `thenWrite` at once, before any other work (the
   * caller's write of the SMTP dot); settles with PostgreSQL's answer. Throws, with nothing
   * written and `thenWrite` not called, when the connection is already known to be lost. A
   * rejection leaves the outcome unknown when the connection was lost with the answer. With
   * `next`, the next row's take follows on the same connection (`successor`): written when the
   * COMMIT's answer comes, so PostgreSQL's work for it falls outside the commit point.
   */
  commit(thenWrite: () => void, next?: string): Promise<void>;
  /**
   * After `commit(…, next)`: the claim on the next row; null when it was no longer pending,
   * undefined when it could not be taken (take it on its own). Never rejects.
   */
  readonly successor: Promise<SendClaim | null | undefined>;
  /** Rolls back: the row stays `pending`. */
  abandon(): Promise<void>;
}

/** Thrown by `SendClaim.commit` when its connection is gone: nothing was committed, and the dot must not be written. */
export class CommitConnectionLost extends Error {
  constructor() {
    super('the connection to PostgreSQL was lost before the commit: not committed');
    this.name = 'CommitConnectionLost';
  }
}

/**
 * The take of a send's commit point, by hand: a simple-protocol query (so it goes in the same
 * write as the BEGIN) takes no parameters. Outbox ids are bigints.
 */
function takeStatement(id: string): string {
  if (!/^[0-9]{1,19}$/.test(id)) throw new Error(`not an outbox id: ${JSON.stringify(id)}`);
  return `begin; update outbox set status = 'sent', sent_at = now(), last_error = null where id = ${id} and status = 'pending'`;
}

/** Whether the take (`begin; update`, two results) found the row pending. */
const tookRow = (results: pg.QueryResult[]): boolean => results[1]?.rowCount === 1;

/**
 * The first half of a send's commit point (see deliver.ts): begins a transaction and marks the
 * row `sent` if it is still `pending`, in one round trip. Null when another worker got there
 * first (a worker that holds the row makes this wait for its commit, then find the row sent).
 * A plain pg client rather than Kysely, because the COMMIT's write must happen when `commit()`
 * is called, not some promise turns later.
 */
export async function takeForSending(pool: Pool, id: string): Promise<SendClaim | null> {
  const statement = takeStatement(id);
  const client = await pool.connect();
  const checkout = checkedOut(client);
  const results = (await client.query(statement).catch(checkout.discard)) as unknown as pg.QueryResult[];
  return claimOrRelease(checkout, tookRow(results));
}

/** A client out of the pool, and its way back: once, whoever gets there first (a COMMIT's failure and the take queued behind it can both try). */
interface Checkout {
  client: pg.PoolClient;
  readonly returned: boolean;
  release(): void;
  /** A connection that failed mid-transaction is dropped, not returned to the pool. */
  drop(err: unknown): void;
  /** `drop`, then rethrows. */
  discard(err: unknown): never;
}

function checkedOut(client: pg.PoolClient): Checkout {
  let returned = false;
  const back = (err?: Error | true) => {
    if (returned) return;
    returned = true;
    client.release(err);
  };
  return {
    client,
    get returned() {
      return returned;
    },
    release: () => back(),
    drop: (err) => back(err instanceof Error ? err : true),
    discard: (err) => {
      back(err instanceof Error ? err : true);
      throw err;
    },
  };
}

/** The claim on a row just taken; when it was not, the empty transaction ends and the client goes back. */
async function claimOrRelease(checkout: Checkout, taken: boolean): Promise<SendClaim | null> {
  if (taken) return claimOn(checkout);
  await checkout.client.query('rollback').catch(checkout.discard);
  checkout.release();
  return null;
}

/**
 * Whether pg already knows this client's connection is gone (the server ended it, or a write
 * failed): a query would then fail without being written. pg's own fields (8.23, pinned).
 */
function connectionLost(client: pg.PoolClient): boolean {
  const state = client as unknown as { _ending?: boolean; _ended?: boolean; _queryable?: boolean; connection?: { stream?: { writable?: boolean } } };
  return state._ending === true || state._ended === true || state._queryable === false || state.connection?.stream?.writable === false;
}

function claimOn(checkout: Checkout): SendClaim {
  const { client, release, discard } = checkout;
  let successor: Promise<SendClaim | null | undefined> = Promise.resolve(undefined);
  const claim: { state: SendClaim['state'] } & SendClaim = {
    state: 'open',
    get successor() {
      return successor;
    },
    commit: (thenWrite, next) => {
      // Checked before anything is written: a bad id, or a connection already lost, leaves the claim open.
      const take = next === undefined ? null : takeStatement(next);
      if (connectionLost(client)) throw new CommitConnectionLost();
      claim.state = 'committing';
      const answer = client.query('commit');
      let failedWrite: { err: unknown } | null = null;
      try {
        thenWrite();
      } catch (err) {
        failedWrite = { err };
      }
      const committed = (answer as unknown as Promise<unknown>).catch(discard);
      const handedOn = take !== null && !failedWrite;
      if (handedOn) {
        // Queued behind the COMMIT: pg writes it when the COMMIT's answer has come.
        const taken = client.query(take) as unknown as Promise<pg.QueryResult[]>;
        successor = taken.then(
          (results) => (checkout.returned ? undefined : claimOrRelease(checkout, tookRow(results))),
          (err: unknown) => {
            checkout.drop(err);
            return undefined;
          },
        ).catch(() => undefined);
      }
      const settled = committed.then(() => {
        claim.state = 'committed';
        if (!handedOn) release();
      });
      if (failedWrite) {
        settled.catch(() => undefined);
        throw failedWrite.err;
      }
      return settled;
    },
    abandon: () => {
      claim.state = 'abandoned';
      return client.query('rollback').then(() => release(), discard);
    },
  };
  return claim;
}
