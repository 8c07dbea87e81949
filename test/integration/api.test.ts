import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { fileRawMessage } from '../../src/intake/ingest';
import { createTestApp, type TestApp } from '../support/env';
import { startTestWeb } from '../support/web';

describe('HTTP API', () => {
  let app: TestApp;
  let server: FastifyInstance;
  let base: string;
  // Real HTTP over loopback (fastify.inject's light-my-request needs an ESM-only package jest cannot load).
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(base + url, { headers });
    const text = await res.text();
    return { statusCode: res.status, json: () => JSON.parse(text) as unknown };
  };
  const token = 'test-api-token-0123456789';
  const auth = { authorization: `Bearer ${token}` };

  beforeAll(async () => {
    app = await createTestApp({ API_TOKEN: token });
    ({ server, base } = await startTestWeb(app, token));
    for (const name of ['with-attachments.eml', 'html-only.eml']) {
      await fileRawMessage(app.ctx.intake, await readFile(join(__dirname, '../../fixtures/intake', name)), { source: 'pipe' });
    }
    const first = await app.ctx.db.selectFrom('cases').select('id').orderBy('id').executeTakeFirstOrThrow();
    await app.ctx.db.updateTable('cases').set({ status: 'suspended', hold_reason: 'unknown_sender', decided_at: new Date() }).where('id', '=', first.id).execute();
  });
  afterAll(async () => {
    await server.close();
    await app.close();
  });

  it('refuses requests without the token, or with a wrong one', async () => {
    expect((await get('/api/cases')).statusCode).toBe(401);
    expect((await get('/api/cases', { authorization: 'Bearer wrong' })).statusCode).toBe(401);
    expect((await get('/api/cases/CASE-000001')).statusCode).toBe(401);
  });

  it('serves /healthz without a token', async () => {
    const res = await get('/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ database: 'up', redis: 'up', mailbox: { state: 'disabled' } });
  });

  it('lists cases newest first with the documented fields', async () => {
    const res = await get('/api/cases', auth);
    expect(res.statusCode).toBe(200);
    const { cases } = res.json() as { cases: Array<Record<string, unknown>> };
    expect(cases.map((c) => c.subject)).toEqual(['Écran blanc', 'Logs attached']);
    expect(Object.keys(cases[0]!).sort()).toEqual(
      ['assignee', 'company', 'createdAt', 'decidedAt', 'escalated', 'firstResponseAt', 'holdReason', 'infrastructure', 'lastCustomerReplyAt', 'reference', 'requesterEmail', 'status', 'subject'].sort(),
    );
  });

  it('filters by status and limits', async () => {
    const held = (await get('/api/cases?status=suspended', auth)).json() as { cases: Array<{ subject: string; holdReason: string }> };
    expect(held.cases).toEqual([expect.objectContaining({ subject: 'Logs attached', holdReason: 'unknown_sender' })]);
    const one = (await get('/api/cases?limit=1', auth)).json() as { cases: unknown[] };
    expect(one.cases).toHaveLength(1);
  });

  it('rejects a bad status or limit with 400', async () => {
    expect((await get('/api/cases?status=reopened', auth)).statusCode).toBe(400);
    expect((await get('/api/cases?limit=1001', auth)).statusCode).toBe(400);
  });

  it('returns one case with its messages and attachments', async () => {
    const { cases } = (await get('/api/cases?status=suspended', auth)).json() as { cases: Array<{ reference: string }> };
    const res = await get(`/api/cases/${cases[0]!.reference}`, auth);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { messages: Array<Record<string, unknown>> };
    expect(body.messages).toEqual([
      {
        id: expect.any(String),
        from: 'bob@acme.test',
        author: 'customer',
        channel: 'mail',
        subject: 'Logs attached',
        text: expect.stringContaining('Café au lait'),
        receivedAt: expect.any(String),
        holdReason: null,
        attachments: [
          { filename: 'server.log', contentType: 'text/plain', size: 18 },
          { filename: 'screen.png', contentType: 'image/png', size: 70 },
        ],
      },
    ]);
  });

  it('answers 404 for an unknown case', async () => {
    expect((await get('/api/cases/CASE-999999', auth)).statusCode).toBe(404);
  });
});
