import { sql } from 'kysely';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { setStaffPassword } from '../../src/staff/accounts';
import { addEndpoint } from '../../src/webhooks/endpoints';
import { snap } from '../support/artifacts';
import { launchBrowser, scrollWidth, signedInPage } from '../support/browser';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';
import { STAFF_PASSWORD } from '../support/staff';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const STAFF = 'agent@support.example.com';
const TO = { to: 'acme-prod@support.example.com' };
const SUBJECT = 'The label printer prints every label twice';

// The whole service (relay, queue, webhook workers) delivering to a real receiver; a retry window
// of a second, so a refused delivery is given up quickly and staff can redeliver it.
describe('the webhooks page in a real Chromium', () => {
  // Started together: the service, the browser, the help desk's receiver.
  let t: TestService, browser: Browser, hooks: WebhookReceiver;
  let desktop: { context: BrowserContext; page: Page };
  /** The receiver's endpoint, and the case whose first event it refuses until `refusing` is false. */
  let endpointId: string, ref: string;
  let refusing = true;
  const db = () => t.app.ctx.db;
  const createdRow = () =>
    db().selectFrom('webhook_deliveries as d').innerJoin('events as e', 'e.id', 'd.event_id').select(['d.id', 'd.status', 'd.attempts']).where('d.endpoint_id', '=', endpointId).where('e.type', '=', 'case.created').where(sql<string>`e.data->'case'->>'reference'`, '=', ref).executeTakeFirst();

  beforeAll(async () => {
    [t, browser, hooks] = await Promise.all([startTestService({ WEBHOOK_TIMEOUT: '1s', WEBHOOK_RETRY_FIRST: '0.2s', WEBHOOK_RETRY_MAX: '0.4s', WEBHOOK_RETRY_FOR: '1s' }), launchBrowser(), startWebhookReceiver()]);
    await setStaffPassword(db(), STAFF, STAFF_PASSWORD);
    const added = await addEndpoint(db(), t.app.ctx.webhooks.box, { url: hooks.url, eventTypes: null });
    endpointId = added.id;
    hooks.secret = added.secret;
    // A help desk whose receiver is away, on a long address, taking two types: its rows fail with no answer.
    await addEndpoint(db(), t.app.ctx.webhooks.box, { url: 'http://127.0.0.1:9/a-rather-long-path/for-the-help-desk-of-a-subsidiary/hooks?tenant=acme-production-eu-west', eventTypes: ['case.created', 'case.status_changed'] });

    // Refused (until the redelivery): this case's first event, told by its subject, as the relay may send it before write() returns.
    hooks.answer = (r) => (refusing && (r.event.data.case as { subject?: string } | undefined)?.subject === SUBJECT && r.event.type === 'case.created' ? { status: 503 } : { status: 200 });
    ref = await t.write('Bob Builder <bob@acme.test>', SUBJECT, TO);
    await t.caseIn(ref, 'open');
    await t.caseIn(await t.write('Carol <carol@acme.test>', 'Mouse missing', TO), 'open');
    await eventually(async () => (await createdRow())?.status === 'failed', 20000, 'the refused delivery given up');

    desktop = await signedInPage(browser, t.base, STAFF, STAFF_PASSWORD, '/dashboard/webhooks');
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await hooks?.stop();
  });

  it('lists both endpoints with their counts, reached from the navigation', async () => {
    const { page } = desktop;
    await page.goto(`${t.base}/dashboard`);
    await Promise.all([page.waitForURL(`${t.base}/dashboard/webhooks`), page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Webhooks' }).click()]);
    await expect(page.locator('section.endpoint').count()).resolves.toBe(2);
    const mine = page.locator(`#endpoint-${endpointId}`);
    await expect(mine.locator('.url').textContent()).resolves.toBe(hooks.url);
    // Each <dt> with its <dd>.
    const facts = await mine.locator('dt').evaluateAll((dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])));
    expect(facts).toMatchObject({ 'Event types': 'all', Pending: '0', Failed: '1' });
    await snap(page, 'dashboard-webhooks-01-desktop');
    expect(await scrollWidth(page)).toBeLessThanOrEqual(1280);
  });

  it('shows the failed delivery under the failed filter, with what the receiver answered', async () => {
    const { page } = desktop;
    await Promise.all([page.waitForURL(new RegExp(`/dashboard/webhooks/${endpointId}$`)), page.getByRole('link', { name: `Endpoint ${endpointId}` }).click()]);
    await Promise.all([page.waitForURL(/status=failed$/), page.getByRole('navigation', { name: 'Delivery status' }).getByRole('link', { name: 'Failed (1)' }).click()]);
    const row = page.locator('#deliveries tbody tr');
    await expect(row.count()).resolves.toBe(1);
    const id = (await createdRow())!.id;
    await expect(row.getAttribute('id')).resolves.toBe(`delivery-${id}`);
    const cells = await row.locator('td[data-label]').evaluateAll((tds) => Object.fromEntries(tds.map((td) => [td.getAttribute('data-label'), td.textContent])));
    expect(cells).toMatchObject({ Type: 'case.created', Case: ref, Status: 'failed (given up)', 'HTTP status': '503', 'Last error': 'HTTP 503: receiver trouble', 'Next attempt': '—' });
    await expect(row.getByRole('link', { name: ref }).getAttribute('href')).resolves.toBe(`/dashboard/cases/${ref}`);
    await snap(page, 'dashboard-webhooks-02-failed-desktop');
    expect(await scrollWidth(page)).toBeLessThanOrEqual(1280);
  });

  it('redelivers it: a notice, then delivered to the receiver with the same event id', async () => {
    const { page } = desktop;
    refusing = false;
    const id = (await createdRow())!.id;
    const before = hooks.received.filter((r) => r.event.data.case?.reference === ref && r.event.type === 'case.created');
    await Promise.all([page.waitForURL(/notice=redelivered/), page.getByRole('button', { name: /^Redeliver evt_/ }).click()]);
    await expect(page.locator('#notice').textContent()).resolves.toMatch(/^The delivery is pending again/);
    expect(page.url()).toContain('status=failed');
    await snap(page, 'dashboard-webhooks-03-redelivered-desktop');
    await eventually(async () => (await createdRow())?.status === 'delivered', 15000, 'the redelivery');
    const got = hooks.received.filter((r) => r.event.data.case?.reference === ref && r.event.type === 'case.created');
    expect(got.at(-1)).toMatchObject({ answered: 200, verified: true, headers: expect.objectContaining({ 'webhook-id': before[0]!.event.id }) });
    await page.goto(`${t.base}/dashboard/webhooks/${endpointId}?status=delivered`);
    await expect(page.locator(`#delivery-${id} td[data-label="HTTP status"]`).textContent()).resolves.toBe('200');
  });

  it('fits a 390 px phone: both pages as cards, nothing scrolls sideways', async () => {
    const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await desktop.context.storageState() })).newPage();
    await phone.goto(`${t.base}/dashboard/webhooks`);
    await phone.locator('section.endpoint').first().waitFor();
    await snap(phone, 'dashboard-webhooks-04-phone');
    expect(await scrollWidth(phone)).toBeLessThanOrEqual(390);

    const other = (await db().selectFrom('webhook_endpoints').select('id').where('id', '!=', endpointId).executeTakeFirstOrThrow()).id;
    await phone.goto(`${t.base}/dashboard/webhooks/${other}`);
    await phone.locator('#deliveries tbody tr').first().waitFor();
    await snap(phone, 'dashboard-webhooks-05-deliveries-phone');
    expect(await scrollWidth(phone)).toBeLessThanOrEqual(390);
    for (const box of await Promise.all((await phone.locator('#deliveries tbody tr, #endpoint, .views').all()).map((l) => l.boundingBox()))) expect(box!.x >= 0 && box!.x + box!.width <= 390).toBe(true);
    const button = await phone.getByRole('button', { name: /^Redeliver evt_/ }).first().boundingBox();
    expect(button!.x + button!.width).toBeLessThanOrEqual(390);
    await phone.close();
  });
});
