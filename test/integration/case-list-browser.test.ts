import type { Browser, BrowserContext, Page } from 'playwright-core';
import { recordEvent } from '../../src/cases/repository';
import { setStaffPassword } from '../../src/staff/accounts';
import { snap } from '../support/artifacts';
import { launchBrowser } from '../support/browser';
import { startTestService, type TestService } from '../support/service';
import { STAFF_PASSWORD } from '../support/staff';

const STAFF = 'agent@support.example.com';
const OTHER = 'other@support.example.com';

describe('the live case list in a real Chromium', () => {
  let t: TestService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const refs: Record<string, string> = {};
  const db = () => t.app.ctx.db;
  const idOf = async (ref: string) => (await db().selectFrom('cases').select('id').where('reference', '=', ref).executeTakeFirstOrThrow()).id;
  const row = (ref: string) => page.locator(`tr[data-case="${ref}"]`);
  const listed = async () => page.locator('#cases tbody tr[data-case]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-case')));

  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService(), launchBrowser()]);
    await setStaffPassword(db(), STAFF, STAFF_PASSWORD);
    await setStaffPassword(db(), OTHER, STAFF_PASSWORD);
    const me = (await db().selectFrom('staff_accounts').select('id').where('email', '=', STAFF).executeTakeFirstOrThrow()).id;
    const other = (await db().selectFrom('staff_accounts').select('id').where('email', '=', OTHER).executeTakeFirstOrThrow()).id;
    // bob is a member of acme-prod (fixtures/directory.json): his cases open.
    const shapes = [
      ['mine', { status: 'open', assignee_id: me }],
      ['waiting', { status: 'pending', assignee_id: null }],
      ['hot', { status: 'open', assignee_id: other, escalated_at: new Date(), escalated_by: 'bob@acme.test', escalation_reason: 'production down' }],
      ['free', { status: 'open', assignee_id: null }],
    ] as const;
    for (const [name, set] of shapes) {
      refs[name] = await t.write('Bob Builder <bob@acme.test>', `The ${name} case: printer on fire in building ${name.length}`, { to: 'acme-prod@support.example.com' });
      await t.caseIn(refs[name]!, 'open');
      await db().updateTable('cases').set(set).where('reference', '=', refs[name]!).execute();
    }
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${t.base}/login?next=%2Fdashboard%2Fcases`);
    await page.getByLabel('Email').fill(STAFF);
    await page.getByLabel('Password').fill(STAFF_PASSWORD);
    await Promise.all([page.waitForURL(`${t.base}/dashboard/cases`), page.getByRole('button', { name: 'Sign in' }).click()]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lists escalated work first, with assignee and badges', async () => {
    expect((await listed())[0]).toBe(refs.hot);
    await expect(row(refs.hot!).locator('.badge.escalated').textContent()).resolves.toBe('escalated');
    await expect(row(refs.hot!).locator('.assignee').textContent()).resolves.toBe(OTHER);
    await expect(row(refs.free!).locator('.assignee').textContent()).resolves.toBe('unassigned');
    await expect(row(refs.waiting!).locator('.badge.pending').textContent()).resolves.toMatch(/^pending/);
    // Never opened by this member: everything is new to them.
    expect(await page.locator('#cases tr[data-unseen="yes"]').count()).toBe(4);
    await snap(page, 'case-list-01-desktop');
  });

  it('shows a new case and marks a changed one without a reload; opening a case clears its mark', async () => {
    await Promise.all([page.waitForURL(/\/dashboard\/cases\/CASE-/), row(refs.free!).getByRole('link', { name: refs.free }).click()]);
    await page.goBack();
    await page.waitForURL(`${t.base}/dashboard/cases`);
    await page.reload();
    await expect(row(refs.free!).getAttribute('data-unseen')).resolves.toBeNull();
    await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
    await page.locator('body[data-live="on"]').waitFor();

    refs.fresh = await t.write('Bob Builder <bob@acme.test>', 'A brand new case arrives', { to: 'acme-prod@support.example.com' });
    await row(refs.fresh).waitFor({ timeout: 15_000 });
    await recordEvent(db(), await idOf(refs.free!), 'note_added', `staff:${OTHER}`, {});
    await page.locator(`tr[data-case="${refs.free}"][data-unseen="yes"]`).waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await expect(page.locator('#case-total').textContent()).resolves.toBe('5');
    await snap(page, 'case-list-02-live');

    await Promise.all([page.waitForURL(/\/dashboard\/cases\/CASE-/), row(refs.free!).getByRole('link', { name: refs.free }).click()]);
    await page.goto(`${t.base}/dashboard/cases`);
    await expect(row(refs.free!).getAttribute('data-unseen')).resolves.toBeNull();
  });

  it('filters: mine, unassigned, escalated, pending', async () => {
    const views: Array<[string, string[]]> = [
      ['Mine', [refs.mine!]],
      ['Unassigned', [refs.fresh!, refs.free!, refs.waiting!]],
      ['Escalated', [refs.hot!]],
      ['Pending', [refs.waiting!]],
    ];
    for (const [name, expected] of views) {
      await Promise.all([page.waitForLoadState('load'), page.getByRole('navigation', { name: 'Quick views' }).getByRole('link', { name, exact: true }).click()]);
      await expect(page.getByRole('navigation', { name: 'Quick views' }).locator('[aria-current="page"]').textContent()).resolves.toBe(name);
      expect(await listed()).toEqual(expected);
    }
    await snap(page, 'case-list-03-pending');
    // The form combines a view with the other filters.
    await page.goto(`${t.base}/dashboard/cases`);
    await page.locator('select[name="view"]').selectOption('unassigned');
    await page.locator('select[name="status"]').selectOption('pending');
    await Promise.all([page.waitForURL(/view=unassigned/), page.getByRole('button', { name: 'Filter' }).click()]);
    expect(await listed()).toEqual([refs.waiting]);
  });

  it('is usable at phone width: rows become cards, nothing scrolls sideways', async () => {
    const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await context.storageState() })).newPage();
    await phone.goto(`${t.base}/dashboard/cases`);
    await phone.locator('#cases tbody tr').first().waitFor();
    const width = await phone.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await expect(phone.locator('#cases thead').boundingBox()).resolves.toMatchObject({ height: 1 });
    await snap(phone, 'case-list-04-phone');
    await phone.close();
  });
});
