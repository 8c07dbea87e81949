import type { Browser, Page } from 'playwright-core';
import { fileRawMessage } from '../../src/intake/ingest';
import { setStaffPassword } from '../../src/staff/accounts';
import { snap } from '../support/artifacts';
import { launchBrowser, openPage } from '../support/browser';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';
import { STAFF_PASSWORD } from '../support/staff';

const STAFF = 'agent@support.example.com';

describe('support staff use the dashboard in a real Chromium', () => {
  let t: TestService;
  let browser: Browser;
  let page: Page;
  const alerts: string[] = [];
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService({ DASHBOARD_REFRESH: '1s' }), launchBrowser()]);
    await setStaffPassword(t.app.ctx.db, STAFF, STAFF_PASSWORD);
    page = await openPage(browser, { width: 1280, height: 900 });
    page.on('dialog', (d) => {
      alerts.push(d.message());
      void d.dismiss();
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const held = async () => Number(await page.locator('[data-stat="cases-suspended"]').textContent());

  it('signs in through the form and lands on the overview', async () => {
    await page.goto(`${t.base}/dashboard/cases`);
    expect(page.url()).toBe(`${t.base}/login?next=%2Fdashboard%2Fcases`);
    await snap(page, 'dashboard-01-login');
    await page.getByLabel('Email').fill(STAFF);
    await page.getByLabel('Password').fill('not the password');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.getByText('That email and password do not match an account.').waitFor();
    await page.getByLabel('Password').fill(STAFF_PASSWORD);
    await Promise.all([page.waitForURL(`${t.base}/dashboard/cases`), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.waitForURL(`${t.base}/dashboard`);
    await page.locator('[data-health="ok"]').waitFor();
  });

  it('shows live numbers: a new held case appears on the overview without a reload', async () => {
    const before = await held();
    // Code run inside the page: `globalThis` there is the page's window.
    await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const ref = await t.write('Mallory <mallory@acme.test>', 'Printer on fire');
    await t.caseIn(ref, 'suspended');
    await page.locator('[data-stat="cases-suspended"]', { hasNotText: String(before) }).waitFor({ timeout: 15000 });
    expect(await held()).toBe(before + 1);
    // Same document: the numbers came over the event stream, not through a reload.
    expect(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(await page.locator('[data-stat="approvals-pending"]').textContent()).toBe('1');
    await snap(page, 'dashboard-02-overview');
  });

  it('authorizes a held case from its page, with the staff action in the audit log', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Held' }).click();
    await page.waitForURL(/status=suspended/);
    await snap(page, 'dashboard-03-held-cases');
    await Promise.all([page.waitForURL(/\/dashboard\/cases\/CASE-/), page.getByRole('link', { name: /CASE-/ }).first().click()]);
    await page.getByRole('button', { name: 'Resend approval request' }).waitFor();
    await snap(page, 'dashboard-04-held-case');
    await page.getByLabel(/Reason/).first().fill('Called the customer; Bob confirmed by phone');
    await Promise.all([page.waitForURL(/notice=approval_authorized/), page.getByRole('button', { name: 'Authorize' }).click()]);
    await expect(page.locator('#case-status').textContent()).resolves.toBe('open');
    const audit = await page.locator('#audit').textContent();
    expect(audit).toContain(`staff:${STAFF}`);
    expect(audit).toContain('Called the customer; Bob confirmed by phone');
    await snap(page, 'dashboard-05-authorized');
    await eventually(async () => t.sink.to('mallory@acme.test').find((m) => /released|open/i.test(m.parsed.subject ?? '')));
  });

  it('shows hostile mail inert: no script runs from the subject, the name or the body', async () => {
    const hostile = '<script>alert("subject")</script><img src=x onerror=alert("img")>';
    const raw = Buffer.from(
      [`From: "<img src=x onerror=alert(1)>" <eve@acme.test>`, 'To: support@support.example.com', `Subject: ${hostile}`, 'Message-ID: <hostile-browser@tests.case-intake.test>', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', `<p>Hi</p>${hostile}<script>parent.document.body.innerHTML='owned'</script>`, ''].join('\r\n'),
    );
    const result = await fileRawMessage(t.app.ctx.intake, raw, { source: 'pipe' });
    if (result.outcome !== 'case') throw new Error(result.outcome);
    await t.caseIn(result.reference, 'suspended');
    await page.goto(`${t.base}/dashboard/cases/${result.reference}`);
    await page.getByText('HTML version').click();
    await page.frameLocator('iframe.mail-html').getByText('Hi').waitFor();
    await page.waitForTimeout(300);
    expect(alerts).toEqual([]);
    await expect(page.locator('h1').textContent()).resolves.toContain('<script>alert("subject")</script>');
    await snap(page, 'dashboard-06-hostile-mail');
  });

  it('shows the quarantine, the directory and the queues', async () => {
    await fileRawMessage(t.app.ctx.intake, Buffer.from('Subject: no sender at all\r\n\r\nbody\r\n'), { source: 'pipe' });
    await page.goto(`${t.base}/dashboard/intake`);
    await page.getByText('no sender at all').waitFor();
    await snap(page, 'dashboard-07-quarantine');
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Directory' }).click();
    await page.getByText(/from approval by staff:/).first().waitFor();
    await snap(page, 'dashboard-08-directory');
    await page.goto(`${t.base}/dashboard/queues/`);
    await page.getByText('match').first().click();
    await page.getByText(/Loading/).waitFor({ state: 'hidden' });
    await page.getByText(/completed/i).first().waitFor();
    await snap(page, 'dashboard-09-queues');
  });

  it('signs out, after which the dashboard asks to sign in again', async () => {
    await page.goto(`${t.base}/dashboard`);
    await Promise.all([page.waitForURL(`${t.base}/login`), page.getByRole('button', { name: 'Sign out' }).click()]);
    await snap(page, 'dashboard-10-signed-out');
    await page.goto(`${t.base}/dashboard`);
    expect(page.url()).toBe(`${t.base}/login?next=%2Fdashboard`);
  });
});
