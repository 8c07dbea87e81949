import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { fileRawMessage } from '../../src/intake/ingest';
import { snap } from '../support/artifacts';
import { launchBrowser } from '../support/browser';
import { createTestApp, type TestApp } from '../support/env';
import { setStaffPassword } from '../../src/staff/accounts';
import { STAFF_PASSWORD } from '../support/staff';
import { startTestWeb } from '../support/web';

/** DISPLAY_TIME_ZONE set: every viewer reads the operator's zone, whatever their browser's; no script rewrites it. */
describe('times in DISPLAY_TIME_ZONE, in a real Chromium whose own zone is another', () => {
  let app: TestApp;
  let server: FastifyInstance;
  let base: string;
  let browser: Browser;
  beforeAll(async () => {
    app = await createTestApp({ DISPLAY_TIME_ZONE: 'Asia/Tokyo' });
    ({ server, base } = await startTestWeb(app, 'display-zone-api-token-0123'));
    await fileRawMessage(app.ctx.intake, await readFile(join(__dirname, '../../fixtures/intake/with-attachments.eml')), { source: 'pipe' });
    await setStaffPassword(app.ctx.db, 'zone@support.example.com', STAFF_PASSWORD);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await app?.close();
  });

  it.each([1280, 390])('shows Tokyo time with the year at %i px to a browser in New York, and loads no times script', async (width) => {
    const context = await browser.newContext({ viewport: { width, height: 800 }, timezoneId: 'America/New_York' });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const scripts: string[] = [];
    page.on('request', (r) => {
      if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname);
    });
    await page.goto(`${base}/login?next=${encodeURIComponent('/dashboard/cases')}`);
    await page.getByLabel('Email').fill('zone@support.example.com');
    await page.getByLabel('Password').fill(STAFF_PASSWORD);
    await Promise.all([page.waitForURL(`${base}/dashboard/cases`), page.getByRole('button', { name: 'Sign in' }).click()]);
    const time = page.locator('#cases time[datetime]').first();
    const [iso, text] = await Promise.all([time.getAttribute('datetime'), time.innerText()]);
    const tokyo = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: 'Asia/Tokyo', timeZoneName: 'short', hourCycle: 'h23' }).format(new Date(iso!));
    expect(text).toBe(tokyo);
    expect(text).toMatch(/ \d{4}, .+ GMT\+9$/);
    expect(await time.getAttribute('data-local')).toBeNull();
    expect(scripts).not.toContain('/static/times.js');
    await snap(page, `frames-times-display-zone-${width}`);
    await context.close();
  });
});
