import { sql } from 'kysely';
import { createDb } from '../../src/db/connection';
import { runCli } from '../support/cli';
import { createTestDatabase, TEST_REDIS, uniqueName, type TestDatabase } from '../support/env';

/** The command line as a production deployment runs it: NODE_ENV=production, secrets from the environment. */
describe('case-intake in production refuses the secrets the repository publishes', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  const own = { LINK_SECRET: 'c0ffee'.repeat(8), API_TOKEN: 'beef'.repeat(8) };
  const production = (secrets: Record<string, string>) => ({ NODE_ENV: 'production', DATABASE_URL: database.url, REDIS_URL: TEST_REDIS, QUEUE_PREFIX: uniqueName('ci'), IMAP_URL: '', PORT: '0', LOG_LEVEL: 'silent', ...own, ...secrets });

  it.each([
    ['start', 'LINK_SECRET', 'compose-placeholder-link-secret-change-me'],
    ['start', 'API_TOKEN', 'compose-placeholder-api-token'],
    ['migrate', 'LINK_SECRET', 'dev-only-link-secret-change-me-000000'],
    ['migrate', 'API_TOKEN', 'demo-api-token-change-me'],
    ['migrate', 'LINK_SECRET_PREVIOUS', 'compose-placeholder-link-secret-change-me'],
    ['ingest', 'METRICS_TOKEN', 'demo-api-token-change-me'],
  ])('%s with %s published: exit 78, naming the variable, never printing its value', async (command, name, value) => {
    // A `start` that accepted the secret would run on: it is stopped, and the test fails on its exit code.
    const r = await runCli([command], production({ [name]: value }), 'Subject: x\r\n\r\nbody\r\n', 15_000);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(new RegExp(`^\\s+- ${name}: is a value published in the case-intake repository`, 'm'));
    expect(r.stdout + r.stderr).not.toContain(value);
  });

  it('lists the published secret with the other problems, and touches nothing; the same command with its own secrets runs', async () => {
    const r = await runCli(['migrate'], production({ LINK_SECRET: 'compose-placeholder-link-secret-change-me', PORT: 'eighty' }));
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/- PORT:[\s\S]*- LINK_SECRET: is a value published/);
    const db = createDb(database.url, { max: 1 });
    try {
      const tables = await sql<{ n: string }>`select count(*) as n from information_schema.tables where table_schema = 'public'`.execute(db);
      expect(tables.rows[0]?.n).toBe('0');
      expect(await runCli(['migrate'], production({}))).toMatchObject({ code: 0 });
    } finally {
      await db.destroy();
    }
  });
});
