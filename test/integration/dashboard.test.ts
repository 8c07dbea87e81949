import { fileRawMessage } from '../../src/intake/ingest';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';
import { csrfIn, signedInStaff, STAFF_PASSWORD, WebClient } from '../support/staff';
import { setStaffPassword } from '../../src/staff/accounts';

const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

/** A message with hostile markup in the subject, the sender's name, the text and the HTML body. */
function hostileMessage(id: string): Buffer {
  const boundary = 'b-hostile';
  return Buffer.from(
    [
      `From: "${HOSTILE.replace(/"/g, "'")}" <mallory@acme.test>`,
      'To: support@support.example.com',
      `Subject: ${HOSTILE}`,
      `Message-ID: <${id}@tests.case-intake.test>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Text ${HOSTILE}`,
      `--${boundary}`,
      'Content-Type: text/html; charset=utf-8',
      '',
      `<p>Html body</p>${HOSTILE}<a href="javascript:alert(1)">x</a>`,
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

describe('staff dashboard over HTTP (PostgreSQL, Redis, SMTP sink)', () => {
  let t: TestService;
  let staff: WebClient;
  beforeAll(async () => {
    // As behind a reverse proxy on this machine (the cookie test sends its X-Forwarded-Proto).
    t = await startTestService({ DASHBOARD_REFRESH: '1s', TRUST_PROXY: '127.0.0.1' });
    staff = await signedInStaff(t.app.ctx.db, t.base);
  });
  afterAll(() => t.close());

  /** Every same-origin link of a page, for crawling what a signed-in person can reach. */
  const linksIn = (html: string) =>
    [...html.matchAll(/(?:href|src|action|data-events)="(\/[^"]*)"/g)].map((m) => m[1]!.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&')).filter((u) => !u.startsWith('/static/'));

  it('refuses every page, download and API route it can reach when signed out', async () => {
    const ref = await t.write('Mallory <mallory@acme.test>', 'Crawl me');
    await t.caseIn(ref, 'suspended');
    // What a signed-in person reaches from the pages (two levels), plus routes no page links to.
    const seen = new Set<string>(['/dashboard', '/dashboard/events', '/dashboard/queues/', '/dashboard/queues/api/queues', '/api/cases', '/api/automatic', '/api/quarantine', `/api/cases/${ref}`, '/dashboard/messages/1/html', '/dashboard/attachments/1', '/dashboard/intake/1/raw']);
    let frontier = ['/dashboard', '/dashboard/cases', `/dashboard/cases/${ref}`, '/dashboard/intake?view=kept'];
    for (let depth = 0; depth < 2; depth++) {
      const next: string[] = [];
      // Event streams never end: they are checked signed out only.
      for (const url of frontier.filter((u) => u !== '/dashboard/events' && !u.startsWith('/dashboard/cases/live'))) {
        const page = await staff.get(url);
        expect([200, 404]).toContain(page.status);
        // Form targets are posted below, not fetched.
        const links = linksIn(page.text).filter((l) => l !== '/logout' && !/\/(resend|decision|route|retry|replies|notes|assignee|status)$/.test(l));
        for (const link of links.filter((l) => !seen.has(l))) {
          seen.add(link);
          next.push(link);
        }
      }
      frontier = next;
    }
    expect(seen.size).toBeGreaterThan(15);

    const stranger = new WebClient(t.base);
    for (const url of seen) {
      const res = await stranger.request(url);
      if (url.startsWith('/api/')) expect([url, res.status]).toEqual([url, 401]);
      else expect([url, res.status, res.headers.get('location')]).toEqual([url, 303, `/login?next=${encodeURIComponent(url)}`]);
      await res.arrayBuffer();
    }
    // Every form's target, posted without a session, changes nothing and says so.
    for (const url of [`/dashboard/cases/${ref}/decision`, `/dashboard/cases/${ref}/resend`, `/dashboard/cases/${ref}/route`, ...['replies', 'notes', 'assignee', 'status'].map((f) => `/dashboard/cases/${ref}/${f}`), '/dashboard/intake/1/retry', '/logout', '/api/quarantine/1/retry']) {
      const res = await stranger.post(url, { decision: 'authorize', reason: 'x' });
      expect([url, res.status]).toEqual([url, 401]);
    }
    expect((await t.caseIn(ref, 'suspended')).status).toBe('suspended');
  });

  it('lets a signed-in staff member read the API, but changes through it need the token', async () => {
    expect((await staff.get('/api/cases')).status).toBe(200);
    const res = await staff.post('/api/quarantine/1/retry', {});
    expect(res.status).toBe(401);
  });

  it('refuses a POST without the session’s CSRF token, and one with another session’s', async () => {
    const ref = await t.write('Mallory <mallory@acme.test>', 'CSRF target');
    await t.caseIn(ref, 'suspended');
    const noToken = await staff.post(`/dashboard/cases/${ref}/decision`, { decision: 'authorize', reason: 'forged' });
    expect(noToken.status).toBe(403);
    const other = await signedInStaff(t.app.ctx.db, t.base, 'other@support.example.com');
    const otherToken = csrfIn((await other.get('/dashboard')).text);
    const wrongToken = await staff.post(`/dashboard/cases/${ref}/decision`, { _csrf: otherToken, decision: 'authorize', reason: 'forged' });
    expect(wrongToken.status).toBe(403);
    const logout = await staff.post('/logout', {});
    expect(logout.status).toBe(403);
    expect((await t.caseIn(ref, 'suspended')).status).toBe('suspended');
    const audit = await t.app.ctx.db.selectFrom('audit_log').select('action').where('channel', '=', 'staff').execute();
    expect(audit).toEqual([]);
    // The sign-in form too: a POST without its token signs nobody in.
    const fresh = new WebClient(t.base);
    const login = await fresh.post('/login', { email: 'agent@support.example.com', password: STAFF_PASSWORD });
    expect(login.status).toBe(403);
    expect(fresh.cookieHeader).not.toMatch(/case_intake_staff=/);
  });

  it('renders hostile markup from mail inert, and serves the HTML body sandboxed', async () => {
    const result = await fileRawMessage(t.app.ctx.intake, hostileMessage('hostile-1'), { source: 'pipe' });
    if (result.outcome !== 'case') throw new Error(result.outcome);
    await t.caseIn(result.reference, 'suspended');
    for (const url of [`/dashboard/cases/${result.reference}`, `/dashboard/cases?q=${encodeURIComponent('script')}`]) {
      const page = await staff.get(url);
      expect(page.status).toBe(200);
      expect(page.text).toContain('&lt;script&gt;window.__pwned&#x3D;1&lt;/script&gt;');
      expect(page.text).not.toContain('<script>window.__pwned');
      expect(page.text).not.toMatch(/<img[^>]+onerror/);
      expect(page.res.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    }
    const caseHtml = (await staff.get(`/dashboard/cases/${result.reference}`)).text;
    const frame = /<iframe class="mail-html" sandbox src="([^"]+)"/.exec(caseHtml);
    expect(frame).not.toBeNull();
    const body = await staff.get(frame![1]!);
    expect(body.text).toContain('<p>Html body</p>');
    expect(body.res.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'/);
    expect(body.res.headers.get('content-security-policy')).not.toMatch(/script-src/);
  });

  it('sets the session cookie HttpOnly and SameSite=Lax, Secure behind an HTTPS proxy, and signs out for good', async () => {
    await setStaffPassword(t.app.ctx.db, 'cookie@support.example.com', STAFF_PASSWORD);
    const client = new WebClient(t.base);
    const form = await client.get('/login');
    const res = await client.request('/login', { form: { _csrf: csrfIn(form.text), email: 'cookie@support.example.com', password: STAFF_PASSWORD }, headers: { 'x-forwarded-proto': 'https' } });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('case_intake_staff='));
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Secure/);
    const plain = await signedInStaff(t.app.ctx.db, t.base, 'plain@support.example.com');
    expect((await plain.get('/dashboard')).status).toBe(200);
    const stolen = plain.cookieHeader;
    const out = await plain.post('/logout', { _csrf: csrfIn((await plain.get('/dashboard')).text) });
    expect([out.status, out.headers.get('location')]).toEqual([303, '/login']);
    // The old cookie, replayed, opens nothing.
    const replay = await fetch(`${t.base}/dashboard`, { headers: { cookie: stolen }, redirect: 'manual' });
    expect(replay.status).toBe(303);
  });

  it('rate-limits failed sign-ins per address, even when the right password finally comes', async () => {
    await setStaffPassword(t.app.ctx.db, 'target@support.example.com', STAFF_PASSWORD);
    const client = new WebClient(t.base);
    for (let i = 0; i < 5; i++) {
      const form = await client.get('/login');
      const res = await client.post('/login', { _csrf: csrfIn(form.text), email: 'target@support.example.com', password: `wrong guess ${i}` });
      expect(res.status).toBe(401);
      await res.arrayBuffer();
    }
    const form = await client.get('/login');
    const res = await client.post('/login', { _csrf: csrfIn(form.text), email: 'target@support.example.com', password: STAFF_PASSWORD });
    expect(res.status).toBe(429);
    expect(await res.text()).toMatch(/Too many failed sign-ins/);
    expect(client.cookieHeader).not.toMatch(/case_intake_staff=/);
  });

  it('authorizes a held case on the customer’s behalf with a reason, recorded as staff', async () => {
    const ref = await t.write('Nina <nina@acme.test>', 'Please let me in');
    await t.caseIn(ref, 'suspended');
    await eventually(async () => (await t.app.ctx.db.selectFrom('cases').select('approval_id').where('reference', '=', ref).executeTakeFirst())?.approval_id ?? undefined);
    const page = await staff.get(`/dashboard/cases/${ref}`);
    expect(page.text).toContain('Resend approval request');
    const res = await staff.post(`/dashboard/cases/${ref}/decision`, { _csrf: csrfIn(page.text), decision: 'authorize', reason: 'Customer called us' });
    expect([res.status, res.headers.get('location')]).toEqual([303, `/dashboard/cases/${ref}?notice=approval_authorized`]);
    await t.caseIn(ref, 'open');
    const after = await staff.get(`/dashboard/cases/${ref}?notice=approval_authorized`);
    expect(after.text).toMatch(/Authorized on the customer’s behalf/);
    expect(after.text).toMatch(/staff:agent@support\.example\.com/);
    expect(after.text).toMatch(/Customer called us/);
    const audit = await t.app.ctx.db.selectFrom('audit_log').select(['actor', 'channel', 'action', 'detail']).where('subject_email', '=', 'nina@acme.test').where('action', '=', 'approval_authorized').executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ actor: 'staff:agent@support.example.com', channel: 'staff', detail: { reason: 'Customer called us' } });
    // A decision without a reason is refused with a page, and changes nothing.
    const ref2 = await t.write('Oscar <oscar@acme.test>', 'No reason given');
    await t.caseIn(ref2, 'suspended');
    const refused = await staff.post(`/dashboard/cases/${ref2}/decision`, { _csrf: csrfIn(page.text), decision: 'ignore', reason: '  ' });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toMatch(/text\/html/);
    expect((await t.caseIn(ref2, 'suspended')).status).toBe('suspended');
  });

  it('shows the overview with numbers and streams fresh ones', async () => {
    const page = await staff.get('/dashboard');
    expect(page.status).toBe(200);
    const held = Number(/data-stat="cases-suspended">(\d+)</.exec(page.text)?.[1]);
    expect(held).toBeGreaterThan(0);
    expect(page.text).toMatch(/data-health="ok"/);
    expect(page.text).toMatch(/<svg viewBox/);

    const controller = new AbortController();
    const events = await fetch(`${t.base}/dashboard/events`, { headers: { cookie: staff.cookieHeader }, signal: controller.signal });
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = events.body!.getReader();
    const ref = await t.write('Pete <pete@acme.test>', 'Count me');
    await t.caseIn(ref, 'suspended');
    let text = '';
    const decoder = new TextDecoder();
    await eventually(async () => {
      const { value } = await reader.read();
      text += decoder.decode(value);
      const counts = [...text.matchAll(/data: .*data-stat="cases-suspended">(\d+)</g)].map((m) => Number(m[1]));
      return counts.some((n) => n > held) || undefined;
    }, 15000, 'a streamed overview with the new held case');
    controller.abort();
  });

  it('lists quarantine with a raw download, the directory with permission sources, and Bull Board behind the login', async () => {
    const bad = await fileRawMessage(t.app.ctx.intake, Buffer.from('Subject: no sender\r\n\r\nbody\r\n'), { source: 'pipe' });
    expect(bad.outcome).toBe('quarantined');
    const q = await staff.get('/dashboard/intake');
    expect(q.text).toMatch(/no sender/);
    const id = /\/dashboard\/intake\/(\d+)\/raw/.exec(q.text)![1]!;
    const raw = await staff.get(`/dashboard/intake/${id}/raw`);
    expect(raw.res.headers.get('content-disposition')).toMatch(/attachment/);
    expect(raw.text).toContain('Subject: no sender');

    const dir = await staff.get('/dashboard/directory');
    expect(dir.text).toMatch(/Acme Corporation/);
    expect(dir.text).toMatch(/from import/);
    expect(dir.text).toMatch(/from approval by staff:agent@support\.example\.com \(staff\)/);

    const board = await staff.get('/dashboard/queues/');
    expect(board.status).toBe(200);
    expect(board.text).toMatch(/case-intake queues|Bull/);
    const api = await staff.get('/dashboard/queues/api/queues');
    expect(api.status).toBe(200);
    expect(JSON.parse(api.text).queues.map((x: { name: string }) => x.name).sort()).toEqual(['approval-reply', 'match', 'send', 'webhook']);
    const crossSite = await staff.request('/dashboard/queues/api/queues/match/retry/failed', { method: 'PUT', headers: { origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
  });
});

describe('the overview turns red when the mailbox stays disconnected', () => {
  let t: TestService;
  beforeAll(async () => {
    // Nothing listens on port 1: the watcher keeps failing to connect.
    t = await startTestService({ IMAP_URL: 'imap://user:pass@127.0.0.1:1/INBOX', INTAKE_ALERT_AFTER: '1s' });
  });
  afterAll(() => t.close());

  it('says why, and readiness fails too', async () => {
    const staff = await signedInStaff(t.app.ctx.db, t.base);
    const page = await eventually(async () => {
      const p = await staff.get('/dashboard');
      return /data-health="red"/.test(p.text) ? p : undefined;
    }, 15000, 'a red overview');
    expect(page.text).toMatch(/the mailbox has been (disconnected|connecting)/);
    expect((await fetch(`${t.base}/readyz`)).status).toBe(503);
  });
});
