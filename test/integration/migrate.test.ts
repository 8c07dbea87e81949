import { sql } from 'kysely';
import { createDb } from '../../src/db/connection';
import { runCli } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/env';

describe('case-intake migrate', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('is safe when two processes migrate at once, and a no-op afterwards', async () => {
    const env = { DATABASE_URL: database.url, LOG_LEVEL: 'silent' };
    const [a, b] = await Promise.all([runCli(['migrate'], env), runCli(['migrate'], env)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    // Exactly one of them applied each migration.
    const applied = [a.stdout, b.stdout].join('\n').match(/applied \S+/g) ?? [];
    expect(applied.sort()).toEqual(['applied 2026_11_23_001_directory', 'applied 2026_11_23_002_intake', 'applied 2026_11_23_003_approvals_outbox', 'applied 2026_11_23_004_threading', 'applied 2026_11_23_005_intake_holds', 'applied 2026_11_23_006_bounces', 'applied 2026_11_23_007_streamed_raw', 'applied 2026_11_23_008_staff', 'applied 2026_11_23_009_dashboard_indexes', 'applied 2026_11_23_010_portal', 'applied 2026_11_23_011_mailbox_watchers', 'applied 2026_11_23_012_outbox_recipient']);
    const again = await runCli(['migrate'], env);
    expect(again).toMatchObject({ code: 0, stdout: 'database is up to date\n' });

    const db = createDb(database.url, { max: 1 });
    const tables = await sql<{ n: string }>`select count(*) as n from information_schema.tables where table_schema = 'public' and table_name = 'cases'`.execute(db);
    expect(tables.rows[0]?.n).toBe('1');
    await db.destroy();
  });
});
