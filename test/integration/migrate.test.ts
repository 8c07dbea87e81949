import { sql } from 'kysely';
import { migrations } from '../../migrations';
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
    expect(applied.sort()).toEqual(Object.keys(migrations).map((name) => `applied ${name}`));
    const again = await runCli(['migrate'], env);
    expect(again).toMatchObject({ code: 0, stdout: 'database is up to date\n' });

    const db = createDb(database.url, { max: 1 });
    const tables = await sql<{ n: string }>`select count(*) as n from information_schema.tables where table_schema = 'public' and table_name = 'cases'`.execute(db);
    expect(tables.rows[0]?.n).toBe('1');
    // The large values are compressed with lz4 (this machine's PostgreSQL has it).
    const compression = await sql<{ col: string; method: string }>`
      select attrelid::regclass || '.' || attname as col, attcompression as method from pg_attribute
      where (attrelid, attname) in (('raw_messages'::regclass, 'raw'), ('attachments'::regclass, 'content')) order by 1`.execute(db);
    expect(compression.rows).toEqual([{ col: 'attachments.content', method: 'l' }, { col: 'raw_messages.raw', method: 'l' }]);
    await db.destroy();
  });
});
