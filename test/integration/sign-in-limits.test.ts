import { Client } from 'pg';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';
import { csrfIn, STAFF_PASSWORD, WebClient } from '../support/staff';
import { setStaffPassword } from '../../src/staff/accounts';

const STAFF = 'agent@support.example.com';

/** A wrong password through the real form, from a browser of its own (its own CSRF cookie). */
async function wrongPassword(base: string, headers: Record<string, string> = {}): Promise<number> {
  const client = new WebClient(base);
  const form = await client.get('/login');
  const res = await client.request('/login', { form: { _csrf: csrfIn(form.text), email: STAFF, password: 'not the password' }, headers });
  return res.status;
}

/** Asks for a portal sign-in link for `email`, as a browser sending `headers`. */
async function askLink(base: string, email: string, headers: Record<string, string> = {}): Promise<number> {
  const client = new WebClient(base);
  const form = await client.get('/portal/login');
  return (await client.request('/portal/login', { form: { _csrf: csrfIn(form.text), email }, headers })).status;
}

async function rateKeys(t: TestService, scope: string): Promise<string[]> {
  const rows = await t.app.ctx.db.selectFrom('rate_events').select('key').where('scope', '=', scope).orderBy('id').execute();
  return rows.map((r) => r.key);
}

describe('sign-in limits with no proxy trusted (TRUST_PROXY unset)', () => {
  let t: TestService;
  const logLines: string[] = [];
  beforeAll(async () => {
    t = await startTestService({}, logLines);
    await setStaffPassword(t.app.ctx.db, STAFF, STAFF_PASSWORD);
  });
  afterAll(() => t.close());
  beforeEach(() => t.app.ctx.db.deleteFrom('rate_events').execute());

  it('checks at most 5 of 40 parallel wrong passwords for one staff account; the rest are refused unchecked', async () => {
    const statuses = await Promise.all(Array.from({ length: 40 }, () => wrongPassword(t.base)));
    const checked = statuses.filter((s) => s === 401).length;
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(1);
    expect(checked).toBeLessThanOrEqual(5);
    // What stays counted is the failed checks: one after another, the rest of the 5 are checked, then
    // nothing is, not even the right password.
    expect((await rateKeys(t, 'staff_login_email')).length).toBe(checked);
    let later = 0;
    while ((await wrongPassword(t.base)) === 401) later++;
    expect(checked + later).toBe(5);
    expect((await new WebClient(t.base).signIn(STAFF)).status).toBe(429);
  });

  it('counts a client by its connection: a forged X-Forwarded-For neither escapes the limit nor reaches the log', async () => {
    const statuses: number[] = [];
    // 21 link requests, each for another address and naming another client: the 21st is one too many.
    for (let i = 0; i < 21; i++) statuses.push(await askLink(t.base, `someone${i}@nowhere.test`, { 'x-forwarded-for': `203.0.113.${i + 1}` }));
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    expect(statuses[20]).toBe(429);
    expect(new Set(await rateKeys(t, 'portal_link_client'))).toEqual(new Set(['127.0.0.1']));

    expect(await wrongPassword(t.base, { 'x-forwarded-for': '198.51.100.7' })).toBe(401);
    const failed = logLines.map((l) => JSON.parse(l) as { event?: string; client?: string }).filter((l) => l.event === 'staff_login_failed');
    expect(failed.at(-1)?.client).toBe('127.0.0.1');
    expect(logLines.join('\n')).not.toContain('198.51.100.7');
  });
});

describe.each([
  ['an address', '127.0.0.1'],
  ['a hop count', '1'],
])('sign-in limits behind a proxy trusted by %s (TRUST_PROXY=%s)', (_what, trust) => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ TRUST_PROXY: trust });
  });
  afterAll(() => t.close());

  it('counts the client the proxy names, so one client hits its limit and another does not', async () => {
    for (let i = 0; i < 20; i++) expect(await askLink(t.base, `someone${i}@nowhere.test`, { 'x-forwarded-for': '203.0.113.9' })).toBe(200);
    expect(await askLink(t.base, 'one-more@nowhere.test', { 'x-forwarded-for': '203.0.113.9' })).toBe(429);
    // Another client behind the same proxy, and the proxy's own peer, still get through.
    expect(await askLink(t.base, 'other@nowhere.test', { 'x-forwarded-for': '203.0.113.10' })).toBe(200);
    expect(await askLink(t.base, 'direct@nowhere.test')).toBe(200);
    expect(new Set(await rateKeys(t, 'portal_link_client'))).toEqual(new Set(['203.0.113.9', '203.0.113.10', '127.0.0.1']));
  });
});

describe('portal sign-in answers a known address with the same work as an unknown one', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t.close());

  it('answers both before looking the address up or writing a link (tables it would need are locked), then mails the known one only', async () => {
    const lock = new Client({ connectionString: t.app.database.url });
    await lock.connect();
    try {
      await lock.query('begin');
      // Nothing that tells a known address from an unknown one can be read or written while these are held.
      await lock.query('lock table contacts, permissions, case_participants, portal_links, outbox in access exclusive mode');
      const answers = Promise.all([askLink(t.base, 'bob@acme.test'), askLink(t.base, 'nobody@nowhere.test')]);
      // A bound for a hang only (the old code waited here for the lock): not a measure of speed.
      const outcome = await Promise.race([answers, new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 10_000).unref())]);
      expect(outcome).toEqual([200, 200]);
      await lock.query('commit');
    } finally {
      await lock.end();
    }
    await eventually(async () => t.sink.to('bob@acme.test').find((m) => /sign-in link/i.test(m.parsed.subject ?? '')));
    const links = await t.app.ctx.db.selectFrom('portal_links').select('email').execute();
    expect(links.map((l) => l.email)).toEqual(['bob@acme.test']);
    expect(t.sink.to('nobody@nowhere.test')).toHaveLength(0);
  });
});
