import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { cliEnv, createTestApp, deleteRedisPrefix, uniqueName, type TestApp } from '../support/env';

describe('case-intake ingest (pipe from the MTA)', () => {
  let app: TestApp;
  let env: Record<string, string>;
  beforeAll(async () => {
    app = await createTestApp();
    env = cliEnv(app);
  });
  afterAll(() => app.close());

  it('stores a message from standard input, exits 0 and names the case; a second delivery is a no-op', async () => {
    const raw = await readFile(join(__dirname, '../../fixtures/matching/member-permission-default.eml'));
    const first = await runCli(['ingest'], env, raw);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/stored as CASE-\d{6}/);
    const second = await runCli(['ingest'], env, raw);
    expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
    expect(second.stdout).toMatch(/duplicate/);
    const cases = await app.ctx.db.selectFrom('cases').select('id').execute();
    expect(cases).toHaveLength(1);
  });

  it('still stores the message (exit 0) when Redis is unreachable; the case waits as new for the sweep', async () => {
    const raw = await readFile(join(__dirname, '../../fixtures/matching/pending-member.eml'));
    const result = await runCli(['ingest'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' }, raw);
    expect(result.code).toBe(0);
    const c = await app.ctx.db.selectFrom('cases').select('status').where('subject', '=', 'Pending member writes').executeTakeFirstOrThrow();
    expect(c.status).toBe('new');
  });

  it('exits 75 (temporary failure, the MTA retries) when PostgreSQL is unreachable', async () => {
    const prefix = uniqueName('ci');
    const result = await runCli(['ingest'], { ...env, QUEUE_PREFIX: prefix, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' }, 'From: a@b.test\r\n\r\nx');
    expect(result.code).toBe(75);
    expect(result.stderr).toMatch(/cannot reach PostgreSQL/);
    await deleteRedisPrefix(prefix);
  });

  it('refuses empty input with a clear message', async () => {
    const result = await runCli(['ingest'], env, '');
    expect(result.code).toBe(65);
    expect(result.stderr).toMatch(/no message on standard input/);
  });

  it('reports every configuration problem at once', async () => {
    const result = await runCli(['migrate'], { PORT: 'x', DATABASE_URL: 'mysql://nope', NODE_ENV: 'production' });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/DATABASE_URL/);
    expect(result.stderr).toMatch(/PORT/);
  });
});

describe('case-intake ingest with a message over MAX_MESSAGE_BYTES', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('streams it into storage whole and makes a too_large case from its headers', async () => {
    const big = Buffer.from(`From: bob@acme.test\r\nSubject: piped big\r\nMessage-ID: <piped-big@cli.test>\r\n\r\n${'x'.repeat(200_000)}\r\n`);
    const result = await runCli(['ingest'], { ...cliEnv(app), MAX_MESSAGE_BYTES: '65536' }, big);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/stored as CASE-\d{6}/) });
    const row = await app.ctx.db.selectFrom('raw_messages').select(['size', 'raw_oid']).where('message_id', '=', 'piped-big@cli.test').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ size: big.length, raw_oid: expect.any(Number) });
    const c = await app.ctx.db.selectFrom('cases').select('intake_hold').where('subject', '=', 'piped big').executeTakeFirstOrThrow();
    expect(c.intake_hold).toBe('too_large');
  });
});
