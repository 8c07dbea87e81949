import { sql } from 'kysely';
import { Client } from 'pg';
import { createDb } from '../../src/db/connection';
import { createTestDatabase, type TestDatabase } from '../support/env';

// One throwaway database for every case here: each makes its own pool and tables.
describe('database connections', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  describe('a PostgreSQL connection lost in the middle of a transaction', () => {
    it('fails that transaction and leaves the process and the pool working (found by npm run chaos)', async () => {
      const db = createDb(database.url, { max: 2 });
      const admin = new Client({ connectionString: database.url });
      await admin.connect();
      try {
        const work = db.transaction().execute(async (tx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
          // The server ends this connection (as a restart's fast shutdown does) while the
          // transaction waits between two queries: the client emits 'error' while checked out.
          await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
          await new Promise((r) => setTimeout(r, 300));
          await sql`select 2`.execute(tx);
        });
        await expect(work).rejects.toThrow();
        const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(db);
        expect(rows[0]!.ok).toBe(1);
      } finally {
        await admin.end();
        await db.destroy();
      }
    });
  });

  describe('statements prepared once per connection', () => {
    it('parses a repeated statement once per connection, and keeps ON CONFLICT on a partial index working under generic plans', async () => {
      const db = createDb(database.url, { max: 1 });
      try {
        await sql`create table pending_things (a text not null, status text not null)`.execute(db);
        await sql`create unique index pending_things_one on pending_things (a) where status = 'pending'`.execute(db);
        // PostgreSQL plans a prepared statement generically from its sixth run: ten runs cross that.
        for (let i = 0; i < 10; i++) {
          await db
            .withTables<{ pending_things: { a: string; status: string } }>()
            .insertInto('pending_things')
            .values({ a: 'x', status: 'pending' })
            .onConflict((oc) => oc.column('a').where('status', '=', sql.lit('pending')).doNothing())
            .execute();
        }
        const prepared = await sql<{ statement: string }>`select statement from pg_prepared_statements where statement like 'insert into "pending_things"%'`.execute(db);
        expect(prepared.rows).toHaveLength(1);
        // A batch's many-row statement is not kept: one per row count would pile up.
        await db
          .withTables<{ pending_things: { a: string; status: string } }>()
          .insertInto('pending_things')
          .values(Array.from({ length: 20 }, (_, i) => ({ a: `batch-${i}`, status: 'done' })))
          .execute();
        const kept = await sql<{ n: string }>`select count(*) as n from pg_prepared_statements where statement like 'insert into "pending_things"%'`.execute(db);
        expect(kept.rows[0]!.n).toBe('1');
        const { rows } = await sql<{ n: string }>`select count(*) as n from pending_things where status = 'pending'`.execute(db);
        expect(rows[0]!.n).toBe('1');
      } finally {
        await db.destroy();
      }
    });

    it('replaces a connection whose prepared statement a migration changed under it', async () => {
      const db = createDb(database.url, { max: 1 });
      try {
        await sql`create table shaped (a int)`.execute(db);
        const read = () => db.withTables<{ shaped: { a: number } }>().selectFrom('shaped').selectAll().execute();
        await read();
        await sql`alter table shaped add column b int`.execute(db);
        // The cached plan's result type changed: this call fails, the connection is let go, and
        // the next call prepares afresh.
        await expect(read()).rejects.toThrow(/cached plan must not change result type/);
        await expect(read()).resolves.toEqual([]);
      } finally {
        await db.destroy();
      }
    });
  });

  describe('the commit pool of the send queue', () => {
    it('commits without waiting for the disk, and the default pool still waits', async () => {
      const fast = createDb(database.url, { max: 1, asyncCommit: true });
      const safe = createDb(database.url, { max: 1 });
      try {
        const setting = async (db: ReturnType<typeof createDb>) => (await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(db)).rows[0]!.synchronous_commit;
        expect(await setting(fast)).toBe('off');
        expect(await setting(safe)).toBe('on');
      } finally {
        await fast.destroy();
        await safe.destroy();
      }
    });
  });
});
