import { launchBrowser } from '../support/browser';
import { createTestApp, type TestApp } from '../support/env';
import { startTestService, type TestService } from '../support/service';
import { signedInStaff, type WebClient } from '../support/staff';
import { startTestWeb } from '../support/web';

const TOKEN = 'api-token-for-the-headers-test';

describe('security headers on every kind of answer (PUBLIC_URL http)', () => {
  let t: TestService;
  let staff: WebClient;
  beforeAll(async () => {
    t = await startTestService({ API_TOKEN: TOKEN });
    staff = await signedInStaff(t.app.ctx.db, t.base);
  });
  afterAll(() => t.close());

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${t.base}${path}`, { headers, redirect: 'manual' });

  it('gives API and other JSON answers nosniff and no-store, errors and 404s included; no HSTS over http', async () => {
    const answers = [await get('/api/cases', { authorization: `Bearer ${TOKEN}` }), await get('/api/cases'), await get('/healthz'), await get('/api/cases/CASE-999999', { authorization: `Bearer ${TOKEN}` }), await get('/no/such/route')];
    expect(answers.map((r) => r.status)).toEqual([200, 401, 200, 404, 404]);
    for (const r of answers) {
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expect([r.url, r.headers.get('x-content-type-options'), r.headers.get('cache-control')]).toEqual([r.url, 'nosniff', 'no-store']);
      expect(r.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('gives Bull Board its own Content-Security-Policy and nosniff, on its page, its API and its files', async () => {
    const page = await staff.get('/dashboard/queues/');
    expect(page.status).toBe(200);
    const csp = page.res.headers.get('content-security-policy');
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(page.res.headers.get('x-content-type-options')).toBe('nosniff');
    const script = /src="(static\/js\/main[^"]+)"/.exec(page.text)![1]!;
    for (const path of ['/dashboard/queues/api/queues', `/dashboard/queues/${script}`]) {
      const r = await staff.get(path);
      expect([path, r.status, r.res.headers.get('x-content-type-options'), r.res.headers.get('content-security-policy')]).toEqual([path, 200, 'nosniff', csp]);
    }
  });

  it('Bull Board still works in Chromium under that policy: only its Google font link is refused', async () => {
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext();
      const [name, value] = staff.cookieHeader.split('; ').find((c) => c.startsWith('case_intake_staff='))!.split('=') as [string, string];
      await context.addCookies([{ name, value, url: t.base }]);
      const page = await context.newPage();
      const refused: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) refused.push(m.text());
      });
      await page.goto(`${t.base}/dashboard/queues/`);
      await page.getByText('approval-reply').first().waitFor({ timeout: 15_000 });
      await page.getByText('match').first().click();
      await page.getByText(/completed/i).first().waitFor({ timeout: 15_000 });
      expect(refused.filter((r) => !/fonts\.googleapis\.com/.test(r))).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('Strict-Transport-Security when PUBLIC_URL is https', () => {
  let app: TestApp;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  beforeAll(async () => {
    app = await createTestApp({ PUBLIC_URL: 'https://support.example.test' });
    web = await startTestWeb(app, TOKEN);
  });
  afterAll(async () => {
    await web.server.close();
    await app.close();
  });

  it('is on every answer: pages, JSON, redirects, errors', async () => {
    for (const path of ['/login', '/portal/login', '/healthz', '/api/cases', '/dashboard', '/approvals/not-a-token', '/static/pages.css']) {
      const r = await fetch(`${web.base}${path}`, { redirect: 'manual' });
      expect([path, r.headers.get('strict-transport-security')]).toEqual([path, 'max-age=31536000']);
      expect([path, r.headers.get('x-content-type-options')]).toEqual([path, 'nosniff']);
    }
  });
});
