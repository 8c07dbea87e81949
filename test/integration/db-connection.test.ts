import { sql } from 'kysely';
import { Client } from 'pg';
import { createDb } from '../../src/db/connection';
import { createTestDatabase, type TestDatabase } from '../support/env';

describe('a PostgreSQL connection lost in the middle of a transaction', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

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
