import { eventually } from '../support/env';
import { linkIn, startTestService, type TestService } from '../support/service';
import { csrfIn, signedInStaff, WebClient } from '../support/staff';

describe('portal sign-in by emailed link (PostgreSQL, Redis, SMTP sink, HTTP)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t.close());

  const ask = async (client: WebClient, email: string) => {
    const form = await client.get('/portal/login');
    const res = await client.post('/portal/login', { _csrf: csrfIn(form.text), email });
    return { status: res.status, text: await res.text() };
  };
  const linkFor = async (email: string, after = 0) => {
    const mail = await eventually(async () => t.sink.to(email).filter((m) => /sign-in link/i.test(m.parsed.subject ?? ''))[after]);
    return linkIn(String(mail.parsed.html), `${t.base}/portal/login/`);
  };
  const path = (url: string) => new URL(url).pathname;

  it('answers an unknown address exactly as a known one, and mails only the known one', async () => {
    const known = await ask(new WebClient(t.base), 'bob@acme.test');
    const unknown = await ask(new WebClient(t.base), 'nobody@nowhere.test');
    expect(unknown.status).toBe(known.status);
    const strip = (html: string) => html.replace(/value="[^"]*"/g, '');
    expect(strip(unknown.text).replace('nobody@nowhere.test', 'X')).toBe(strip(known.text).replace('bob@acme.test', 'X'));
    await linkFor('bob@acme.test');
    await new Promise((r) => setTimeout(r, 300));
    expect(t.sink.to('nobody@nowhere.test')).toHaveLength(0);
    const rows = await t.app.ctx.db.selectFrom('portal_links').select('email').execute();
    expect(rows.map((r) => r.email)).toEqual(['bob@acme.test']);
  });

  it('changes nothing on GET; signs in once on the button, with a portal-only cookie; the link is then used up', async () => {
    const link = await linkFor('bob@acme.test');
    const client = new WebClient(t.base);
    const first = await client.get(path(link));
    const again = await client.get(path(link));
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(first.text).toContain('Sign in as bob@acme.test');
    // Without the form's token: refused, and the link is still good.
    expect((await new WebClient(t.base).post(path(link), {})).status).toBe(403);
    const res = await client.post(path(link), { _csrf: csrfIn(again.text) });
    expect([res.status, res.headers.get('location')]).toEqual([303, '/portal']);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('case_intake_portal='));
    expect(cookie).toMatch(/; Path=\/portal; SameSite=Lax; HttpOnly/);
    expect((await client.get('/portal')).status).toBe(200);

    const replay = new WebClient(t.base);
    const page = await replay.get(path(link));
    expect(page.status).toBe(410);
    const reuse = await replay.post(path(link), { _csrf: csrfIn((await replay.get('/portal/login')).text) });
    expect(reuse.status).toBe(410);
    expect(replay.cookieHeader).not.toMatch(/case_intake_portal=/);
  });

  it('refuses a tampered and an expired link with a clear page and no session', async () => {
    const client = new WebClient(t.base);
    await ask(client, 'alice@acme.test');
    const link = await linkFor('alice@acme.test');
    const token = path(link).split('/').pop()!;
    const tampered = `/portal/login/${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    const bad = await client.get(tampered);
    expect(bad.status).toBe(404);
    expect(bad.text).toMatch(/This link is not valid/);
    await t.app.ctx.db.updateTable('portal_links').set({ expires_at: new Date(Date.now() - 1000) }).where('email', '=', 'alice@acme.test').execute();
    const expired = await client.get(path(link));
    expect(expired.status).toBe(410);
    expect(expired.text).toMatch(/expired/);
    const post = await client.post(path(link), { _csrf: csrfIn((await client.get('/portal/login')).text) });
    expect(post.status).toBe(410);
    expect(client.cookieHeader).not.toMatch(/case_intake_portal=/);
  });

  it('makes a pending member active when they sign in, and records it', async () => {
    const client = new WebClient(t.base);
    await ask(client, 'carol@acme.test');
    const link = await linkFor('carol@acme.test');
    const page = await client.get(path(link));
    await client.post(path(link), { _csrf: csrfIn(page.text) });
    const carol = await t.app.ctx.db.selectFrom('contacts').select('status').where('email', '=', 'carol@acme.test').executeTakeFirstOrThrow();
    expect(carol.status).toBe('active');
    const audit = await t.app.ctx.db.selectFrom('audit_log').select(['actor', 'channel', 'action']).where('subject_email', '=', 'carol@acme.test').execute();
    expect(audit).toEqual([{ actor: 'carol@acme.test', channel: 'portal', action: 'member_activated' }]);
  });

  it('limits link mail per address without saying so', async () => {
    const client = new WebClient(t.base);
    for (let i = 0; i < 4; i++) expect((await ask(client, 'dave@acme.test')).status).toBe(200);
    await eventually(async () => t.sink.to('dave@acme.test').length >= 3 || undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.sink.to('dave@acme.test')).toHaveLength(3);
  });

  it('keeps the portal and the dashboard apart, and signs out for good', async () => {
    const staff = await signedInStaff(t.app.ctx.db, t.base);
    const asStaff = await staff.get('/portal');
    expect([asStaff.status, asStaff.res.headers.get('location')]).toEqual([303, '/portal/login']);
    for (const url of ['/portal/cases/CASE-000001/decision', '/portal/logout']) expect((await new WebClient(t.base).post(url, { decision: 'authorize' })).status).toBe(401);

    const client = new WebClient(t.base);
    await ask(client, 'erin@mail.test');
    const link = await linkFor('erin@mail.test');
    await client.post(path(link), { _csrf: csrfIn((await client.get(path(link))).text) });
    const home = await client.get('/portal');
    expect(home.status).toBe(200);
    expect((await client.get('/dashboard')).status).toBe(303);
    const cookie = client.cookieHeader;
    const out = await client.post('/portal/logout', { _csrf: csrfIn(home.text) });
    expect([out.status, out.headers.get('location')]).toEqual([303, '/portal/login']);
    expect((await fetch(`${t.base}/portal`, { headers: { cookie }, redirect: 'manual' })).status).toBe(303);
  });
});
