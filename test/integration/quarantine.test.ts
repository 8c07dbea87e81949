import type { FastifyInstance } from 'fastify';
import { fileRawMessage } from '../../src/intake/ingest';
import type { IntakeDeps } from '../../src/intake/filing';
import { sha256 } from '../../src/intake/headers';
import { decodeEncodedWords, listQuarantine, loadRawMessage, retryQuarantined } from '../../src/intake/quarantine';
import { runCli } from '../support/cli';
import { cliEnv, createTestApp, type TestApp } from '../support/env';
import { startTestWeb } from '../support/web';

/** A message without From: the parser refuses it, so intake quarantines it. */
function senderless(tag: string): Buffer {
  return Buffer.from(
    [
      'To: support@support.example.com',
      `Subject: =?UTF-8?Q?Caf=C3=A9_en_panne?= ${tag}`,
      'Date: Mon, 23 Nov 2026 09:10:00 +0000',
      `Message-ID: <${tag}@quarantine.test>`,
      '',
      'Nobody signed this.',
      '',
    ].join('\r\n'),
  );
}

/** The stand-in for "we fixed the parser": the stored bytes now carry a sender. */
async function giveSender(app: TestApp, id: string): Promise<void> {
  const row = await app.ctx.db.selectFrom('raw_messages').select('raw').where('id', '=', id).executeTakeFirstOrThrow();
  const raw = Buffer.concat([Buffer.from('From: Carol <carol@acme.test>\r\n'), row.raw]);
  await app.ctx.db.updateTable('raw_messages').set({ raw, size: raw.length, sha256: sha256(raw) }).where('id', '=', id).execute();
}

async function quarantineOne(app: TestApp, tag: string): Promise<{ id: string; raw: Buffer }> {
  const raw = senderless(tag);
  const result = await fileRawMessage(app.ctx.intake, raw, { source: 'pipe' });
  if (result.outcome !== 'quarantined') throw new Error(`expected quarantined, got ${result.outcome}`);
  return { id: result.rawId, raw };
}

describe('quarantine (module and CLI)', () => {
  let app: TestApp;
  let env: Record<string, string>;
  beforeAll(async () => {
    app = await createTestApp();
    env = cliEnv(app);
  });
  afterAll(() => app.close());

  it('says so when the quarantine is empty', async () => {
    const result = await runCli(['quarantine', 'list'], env);
    expect(result).toMatchObject({ code: 0, stdout: 'quarantine is empty\n' });
  });

  it('lists a quarantined message, retries it, and turns it into a case once it can be read', async () => {
    const older = await quarantineOne(app, 'older');
    const { id } = await quarantineOne(app, 'cli');

    const listed = await listQuarantine(app.ctx.db, { limit: 10 });
    expect(listed.map((m) => m.id)).toEqual([id, older.id]);
    expect(listed[0]).toEqual({
      id,
      receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      source: 'pipe',
      size: senderless('cli').length,
      messageId: 'cli@quarantine.test',
      from: null,
      subject: 'Café en panne cli',
      error: 'the message has no sender address (From)',
      kind: null,
    });
    expect(await listQuarantine(app.ctx.db, { limit: 10, beforeId: id })).toEqual([expect.objectContaining({ id: older.id })]);
    expect(await listQuarantine(app.ctx.db, { limit: 1 })).toHaveLength(1);

    const list = await runCli(['quarantine', 'list', '--limit', '5'], env);
    expect(list).toMatchObject({ code: 0 }); // on failure, shows the command's stderr too
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]!.split('\t')).toEqual([id, listed[0]!.receivedAt, '-', 'Café en panne cli', 'the message has no sender address (From)']);

    const again = await runCli(['quarantine', 'retry', id], env);
    expect(again.code).toBe(65);
    expect(again.stdout).toBe('still quarantined: the message has no sender address (From)\n');
    const row = await app.ctx.db.selectFrom('raw_messages').select(['status', 'error', 'processed_at']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'quarantined', error: 'the message has no sender address (From)', processed_at: expect.any(Date) });

    await giveSender(app, id);
    const fixed = await runCli(['quarantine', 'retry', id], env);
    expect({ code: fixed.code, stderr: fixed.stderr }).toEqual({ code: 0, stderr: '' });
    const reference = /^now (CASE-\d{6})$/.exec(fixed.stdout.trim())?.[1];
    expect(reference).toBeDefined();
    const c = await app.ctx.db.selectFrom('cases').select(['requester_email', 'subject']).where('reference', '=', reference!).executeTakeFirstOrThrow();
    expect(c).toEqual({ requester_email: 'carol@acme.test', subject: 'Café en panne cli' });
    expect((await listQuarantine(app.ctx.db, { limit: 10 })).map((m) => m.id)).toEqual([older.id]);

    const done = await runCli(['quarantine', 'retry', id], env);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/^not quarantined \(status case, CASE-\d{6}\)/);
    expect(await retryQuarantined(app.ctx.intake, id)).toBeNull();
  });

  it('puts the message back in quarantine when processing throws', async () => {
    const { id } = await quarantineOne(app, 'throws');
    await giveSender(app, id);
    const broken: IntakeDeps = {
      ...app.ctx.intake,
      db: new Proxy(app.ctx.db, {
        get(target, prop) {
          if (prop === 'transaction') return () => ({ execute: async () => Promise.reject(new Error('connection lost')) });
          // Kysely keeps its state in private fields: call its methods on the real instance.
          const value = Reflect.get(target, prop) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }),
    };
    expect(await retryQuarantined(broken, id)).toEqual({ outcome: 'quarantined', rawId: id, error: 'retry failed: connection lost' });
    const row = await app.ctx.db.selectFrom('raw_messages').select(['status', 'error']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'quarantined', error: 'retry failed: connection lost' });
    expect(await retryQuarantined(app.ctx.intake, id)).toMatchObject({ outcome: 'case' });
  });

  it('downloads only quarantined and kept messages', async () => {
    const { id, raw } = await quarantineOne(app, 'download');
    expect((await loadRawMessage(app.ctx.db, id))?.raw.equals(raw)).toBe(true);
    expect(await loadRawMessage(app.ctx.db, '999999')).toBeUndefined();
    expect(await loadRawMessage(app.ctx.db, 'nope')).toBeUndefined();
    await giveSender(app, id);
    await retryQuarantined(app.ctx.intake, id);
    expect(await loadRawMessage(app.ctx.db, id)).toBeUndefined();
  });

  it('answers usage errors with 64 and an unknown id with 65', async () => {
    expect((await runCli(['quarantine'], env)).code).toBe(64);
    expect((await runCli(['quarantine', 'list', '--limit', 'x'], env)).code).toBe(64);
    expect((await runCli(['quarantine', 'list', '--bogus'], env)).code).toBe(64);
    expect((await runCli(['quarantine', 'retry'], env)).code).toBe(64);
    const unknown = await runCli(['quarantine', 'retry', '987654'], env);
    expect(unknown.code).toBe(65);
    expect(unknown.stderr).toMatch(/no stored message with id 987654/);
    expect((await runCli(['quarantine', 'retry', 'abc'], env)).code).toBe(65);
  });

  it('decodes encoded words, and leaves what it cannot decode as written', () => {
    expect(decodeEncodedWords('=?UTF-8?B?w4ljcmFu?= =?UTF-8?Q?_blanc?=')).toBe('Écran blanc');
    expect(decodeEncodedWords('=?iso-8859-1?Q?caf=E9?=')).toBe('café');
    expect(decodeEncodedWords('=?x-no-such-charset?Q?a?= plain')).toBe('=?x-no-such-charset?Q?a?= plain');
  });
});

describe('quarantine (HTTP API)', () => {
  let app: TestApp;
  let server: FastifyInstance;
  let base: string;
  const token = 'test-api-token-0123456789';
  const auth = { authorization: `Bearer ${token}` };
  // Real HTTP over loopback (fastify.inject's light-my-request needs an ESM-only package jest cannot load).
  const call = async (method: string, url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(base + url, { method, headers });
    const body = Buffer.from(await res.arrayBuffer());
    return { statusCode: res.status, headers: res.headers, body, json: () => JSON.parse(body.toString()) as unknown };
  };

  beforeAll(async () => {
    app = await createTestApp({ API_TOKEN: token });
    ({ server, base } = await startTestWeb(app, token));
  });
  afterAll(async () => {
    await server.close();
    await app.close();
  });

  it('refuses requests without the token', async () => {
    const { id } = await quarantineOne(app, 'api-auth');
    expect((await call('GET', '/api/quarantine')).statusCode).toBe(401);
    expect((await call('GET', `/api/quarantine/${id}/raw`)).statusCode).toBe(401);
    expect((await call('POST', `/api/quarantine/${id}/retry`)).statusCode).toBe(401);
    expect((await call('GET', '/api/quarantine', { authorization: 'Bearer wrong' })).statusCode).toBe(401);
  });

  it('lists, downloads and retries quarantined messages', async () => {
    const { id, raw } = await quarantineOne(app, 'api');

    const list = await call('GET', '/api/quarantine?limit=10', auth);
    expect(list.statusCode).toBe(200);
    const { messages } = list.json() as { messages: Array<Record<string, unknown>> };
    expect(messages[0]).toEqual({
      id,
      receivedAt: expect.any(String),
      source: 'pipe',
      size: raw.length,
      messageId: 'api@quarantine.test',
      from: null,
      subject: 'Café en panne api',
      error: 'the message has no sender address (From)',
      kind: null,
    });
    expect(((await call('GET', '/api/quarantine?limit=1', auth)).json() as { messages: unknown[] }).messages).toHaveLength(1);
    expect((await call('GET', '/api/quarantine?limit=0', auth)).statusCode).toBe(400);

    const download = await call('GET', `/api/quarantine/${id}/raw`, auth);
    expect(download.statusCode).toBe(200);
    expect(download.headers.get('content-type')).toBe('message/rfc822');
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="message-${id}.eml"`);
    expect(download.body.equals(raw)).toBe(true);

    const still = await call('POST', `/api/quarantine/${id}/retry`, auth);
    expect(still.statusCode).toBe(200);
    expect(still.json()).toEqual({ outcome: 'quarantined', error: 'the message has no sender address (From)' });

    await giveSender(app, id);
    const fixed = await call('POST', `/api/quarantine/${id}/retry`, auth);
    expect(fixed.statusCode).toBe(200);
    expect(fixed.json()).toEqual({ outcome: 'case', reference: expect.stringMatching(/^CASE-\d{6}$/) });

    expect((await call('POST', `/api/quarantine/${id}/retry`, auth)).statusCode).toBe(404);
    expect((await call('GET', `/api/quarantine/${id}/raw`, auth)).statusCode).toBe(404);
  });

  it('answers 404 for unknown ids', async () => {
    expect((await call('GET', '/api/quarantine/999999/raw', auth)).statusCode).toBe(404);
    expect((await call('GET', '/api/quarantine/abc/raw', auth)).statusCode).toBe(404);
    expect((await call('POST', '/api/quarantine/999999/retry', auth)).statusCode).toBe(404);
    expect((await call('POST', '/api/quarantine/abc/retry', auth)).statusCode).toBe(404);
  });
});
