import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { fileRawMessage } from '../../src/intake/ingest';
import { snap } from '../support/artifacts';
import { launchBrowser, scrollWidth } from '../support/browser';
import { createTestApp, type TestApp } from '../support/env';
import { signedInStaff, STAFF_PASSWORD } from '../support/staff';
import { startTestWeb } from '../support/web';

const TOKEN = 'frames-test-api-token-0123';
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="32"><rect width="96" height="32" rx="6" fill="#1d4f91"/><text x="48" y="22" font-size="16" text-anchor="middle" fill="#fff" font-family="sans-serif">ACME</text></svg>';
const WIDTHS = [1280, 390];

/** The frames' 404 and error pages, the vendor's logo under the CSP, and times in the viewer's zone (DISPLAY_TIME_ZONE unset). */
describe('error pages in each app’s frame, the vendor, and times, in a real Chromium', () => {
  let logoServer: Server;
  let logoOrigin: string;
  let app: TestApp;
  let server: FastifyInstance;
  let base: string;
  let browser: Browser;
  const logged: string[] = [];

  beforeAll(async () => {
    logoServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/svg+xml' }).end(LOGO));
    await new Promise<void>((resolve) => logoServer.listen(0, '127.0.0.1', resolve));
    // Another origin than the service's (localhost, not 127.0.0.1): the CSP must name it.
    logoOrigin = `http://localhost:${(logoServer.address() as AddressInfo).port}`;
    app = await createTestApp({ API_TOKEN: TOKEN, VENDOR_NAME: 'Acme <Hosting>', VENDOR_LOGO_URL: `${logoOrigin}/logo.svg` }, logged);
    // Routes that fail as a bug would, under each app's paths and the API.
    ({ server, base } = await startTestWeb(app, TOKEN, {}, (s) => {
      for (const path of ['/dashboard/test-failure', '/portal/test-failure', '/approvals/x/test-failure', '/test-failure', '/api/test-failure']) {
        s.get(path, async () => {
          throw new Error('secret internal detail: connection to 10.1.2.3 refused');
        });
      }
    }));
    await fileRawMessage(app.ctx.intake, await readFile(join(__dirname, '../../fixtures/intake/with-attachments.eml')), { source: 'pipe' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await app?.close();
    await new Promise((resolve) => logoServer?.close(resolve));
  });

  /** A page at `width`, with every CSP refusal and page error it logs collected. */
  async function open(width: number): Promise<{ page: Page; refused: string[]; close: () => Promise<void> }> {
    const context = await browser.newContext({ viewport: { width, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const refused: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    page.on('pageerror', (e) => refused.push(e.message));
    return { page, refused, close: () => context.close() };
  }

  const cases = [
    { frame: 'dashboard', missing: '/dashboard/no-such-page', failing: '/dashboard/test-failure', marker: 'nav[aria-label="Sections"] >> text=Overview' },
    { frame: 'portal', missing: '/portal/no-such-page', failing: '/portal/test-failure', marker: '.topbar .brand >> text=portal' },
    { frame: 'approval', missing: '/approvals/x/no-such-page', failing: '/approvals/x/test-failure', marker: '.vendor-bar' },
    { frame: 'public', missing: '/no-such-page', failing: '/test-failure', marker: '.vendor-bar' },
  ];

  it.each(cases)('shows the 404 and the error page inside the $frame frame, at 1280 and 390 px, the logo allowed', async ({ frame, missing, failing, marker }) => {
    for (const width of WIDTHS) {
      const { page, refused, close } = await open(width);
      const notFound = await page.goto(`${base}${missing}`);
      expect([notFound?.status(), notFound?.headers()['content-type']]).toEqual([404, 'text/html; charset=utf-8']);
      await page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
      await page.locator(marker).first().waitFor();
      expect(notFound?.headers()['content-security-policy']).toContain(`img-src 'self' ${logoOrigin};`);
      if (frame !== 'dashboard') {
        // What a customer sees names the vendor, escaped, its logo loaded from its own origin, which the CSP names.
        await page.locator('.vendor-name', { hasText: 'Acme <Hosting>' }).first().waitFor();
        await expect(page.locator('img.vendor-logo').first().evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).resolves.toBeGreaterThan(0);
      }
      expect(await scrollWidth(page)).toBeLessThanOrEqual(width);
      await snap(page, `frames-404-${frame}-${width}`);

      const failed = await page.goto(`${base}${failing}`);
      expect(failed?.status()).toBe(500);
      await page.getByRole('heading', { level: 1, name: 'Something went wrong' }).waitFor();
      await page.locator(marker).first().waitFor();
      const body = await page.locator('body').innerText();
      expect(body).not.toMatch(/secret internal detail|10\.1\.2\.3|at .+\.ts:\d+/);
      const requestId = await page.locator('#request-id').innerText();
      expect(logged.some((line) => line.includes('unhandled error') && line.includes(`"reqId":"${requestId}"`) && line.includes('secret internal detail'))).toBe(true);
      expect(await scrollWidth(page)).toBeLessThanOrEqual(width);
      await snap(page, `frames-500-${frame}-${width}`);
      expect(refused).toEqual([]);
      await close();
    }
  });

  it('never answers an HTML request for a missing route with JSON; /api, the probes and a plain client still get JSON', async () => {
    const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    for (const path of ['/no/such/route', '/dashboard/nothing/here', '/portal/nothing', '/approvals/a/b/c', '/static/nothing.css']) {
      const r = await fetch(`${base}${path}`, { headers: html });
      expect([path, r.status, r.headers.get('content-type')]).toEqual([path, 404, 'text/html; charset=utf-8']);
      expect(await r.text()).toMatch(/^<!doctype html>[\s\S]*<h1 id="error-heading">Not found<\/h1>/);
    }
    for (const [path, headers] of [['/api/no/such/route', html], ['/api/no/such/route', {}], ['/no/such/route', {}], ['/healthz/x', html], ['/metrics/x', html]] as const) {
      const r = await fetch(`${base}${path}`, { headers });
      expect([path, r.status, r.headers.get('content-type')]).toEqual([path, 404, 'application/json; charset=utf-8']);
      expect(await r.json()).toEqual({ message: `Route GET:${path} not found`, error: 'Not Found', statusCode: 404 });
    }
    const failed = await fetch(`${base}/api/test-failure`, { headers: html });
    expect([failed.status, failed.headers.get('content-type')]).toEqual([500, 'application/json; charset=utf-8']);
    expect(await failed.json()).toEqual({ error: 'internal', message: expect.stringMatching(/^internal error \(request .+\)$/) });
    // A case nobody may see and a case that does not exist answer the same, as before.
    const api = await fetch(`${base}/api/cases/CASE-999999`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect([api.status, await api.json()]).toEqual([404, { error: 'not_found', message: 'no case CASE-999999' }]);
  });

  it('writes times in the viewer’s own zone with the year (UTC from the server, rewritten by /static/times.js)', async () => {
    await signedInStaff(app.ctx.db, base, 'times@support.example.com');
    for (const width of WIDTHS) {
      const context = await browser.newContext({ viewport: { width, height: 800 }, timezoneId: 'America/New_York' });
      const page = await context.newPage();
      await page.goto(`${base}/login?next=${encodeURIComponent('/dashboard/cases')}`);
      await page.getByLabel('Email').fill('times@support.example.com');
      await page.getByLabel('Password').fill(STAFF_PASSWORD);
      await Promise.all([page.waitForURL(`${base}/dashboard/cases`), page.getByRole('button', { name: 'Sign in' }).click()]);
      const time = page.locator('#cases time[datetime]').first();
      await expect(time.getAttribute('data-local')).resolves.toBe('done');
      const [iso, text, server] = await Promise.all([time.getAttribute('datetime'), time.innerText(), time.getAttribute('title')]);
      // New York in the browser; the server's UTC text kept as the title.
      expect(text).toMatch(/^\d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d GMT-[45]$/);
      expect(server).toMatch(/^\d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d UTC$/);
      const expected = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: 'America/New_York', timeZoneName: 'short', hourCycle: 'h23' }).format(new Date(iso!));
      expect(text).toBe(expected);
      await snap(page, `frames-times-viewer-zone-${width}`);
      await context.close();
    }
  });
});
