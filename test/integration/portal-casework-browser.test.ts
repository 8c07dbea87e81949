import type { Browser, Page } from 'playwright-core';
import { snap } from '../support/artifacts';
import { launchBrowser, openPage } from '../support/browser';
import { eventually } from '../support/env';
import { linkIn, startTestService, type TestService } from '../support/service';

const TOKEN = 'portal-casework-browser-token-0123456789';

describe('a customer works her cases in the portal in a real Chromium', () => {
  let t: TestService;
  let browser: Browser;
  let page: Page;
  let open: string;
  let closed: string;
  let solved: string;
  let another: string;
  const api = async (method: string, url: string, body: unknown) => {
    const res = await fetch(t.base + url, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  };
  /** Nothing may scroll sideways: the page is no wider than the window. */
  const fitsWidth = async (width: number) =>
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);

  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService({ API_TOKEN: TOKEN }), launchBrowser()]);
    open = await t.write('Erin Contractor <erin@mail.test>', 'The VPN drops every ten minutes on the night shift’s laptops');
    closed = await t.write('Erin Contractor <erin@mail.test>', 'Printer on the second floor jams');
    solved = await t.write('Erin Contractor <erin@mail.test>', 'New starter needs an account');
    another = await t.write('Erin Contractor <erin@mail.test>', 'Shared drive is read-only since this morning');
    for (const ref of [open, closed, solved, another]) await t.caseIn(ref, 'open');
    await api('POST', `/api/cases/${open}/replies`, { text: 'Which VPN client version do the laptops run?' });
    await api('POST', `/api/cases/${closed}/replies`, { text: 'We replaced the fuser unit.', status: 'closed' });
    await api('POST', `/api/cases/${solved}/replies`, { text: 'The account is ready.', status: 'solved' });
    page = await openPage(browser, { width: 1280, height: 900 });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('signs in with the link from the mail', async () => {
    await page.goto(`${t.base}/portal/login`);
    await page.getByLabel('Your email address').fill('erin@mail.test');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Email me a sign-in link' }).click()]);
    const mail = await eventually(async () => t.sink.to('erin@mail.test').find((m) => /sign-in link/i.test(m.parsed.subject ?? '')));
    await page.goto(linkIn(String(mail.parsed.html), `${t.base}/portal/login/`));
    await Promise.all([page.waitForURL(`${t.base}/portal`), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.getByText('erin@mail.test').first().waitFor();
  });

  it('comments with an attachment on an open case and sees it in the thread', async () => {
    await page.goto(`${t.base}/portal/cases/${open}`);
    await page.getByText('Support team', { exact: true }).waitFor();
    await snap(page, 'portal-casework-00-open-case-1280');
    const form = page.locator('#comment');
    await form.getByLabel('Your comment').fill('Client 5.2.1 on all of them.\nThe log from one laptop is attached.');
    await form.getByLabel(/Attach files/).setInputFiles({ name: 'vpn-client.log', mimeType: 'text/plain', buffer: Buffer.from('12:00:01 tunnel up\n12:10:02 tunnel down\n') });
    await Promise.all([page.waitForURL(/notice=commented/), form.getByRole('button', { name: 'Add comment' }).click()]);
    await page.getByText('Your comment was added to the case.').waitFor();
    const last = page.locator('.thread article.message').last();
    await last.getByText('Client 5.2.1 on all of them.').waitFor();
    const link = last.getByRole('link', { name: 'vpn-client.log' });
    await link.waitFor();
    const download = await page.request.get(`${t.base}${await link.getAttribute('href')}`);
    expect(await download.text()).toBe('12:00:01 tunnel up\n12:10:02 tunnel down\n');
    await fitsWidth(1280);
  });

  it('asks for an escalation with a reason and sees that the case is escalated', async () => {
    const form = page.locator('#escalation');
    await form.getByLabel('Why does it need escalating?').fill('The night shift cannot work: every laptop loses the VPN.');
    await Promise.all([page.waitForURL(/notice=escalated/), form.getByRole('button', { name: 'Request escalation' }).click()]);
    await page.getByText('Escalated: our support team has been told and will handle this case first.').waitFor();
    await page.locator('#escalation').getByRole('heading', { name: 'Escalated' }).waitFor();
    await page.locator('#escalated-at').waitFor();
    expect(await page.getByRole('button', { name: 'Request escalation' }).count()).toBe(0);
    await snap(page, 'portal-casework-01-case-1280');
    await fitsWidth(1280);
  });

  it('lists closed cases with the status filter and reads one', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Cases' }).click();
    await page.getByRole('link', { name: solved }).waitFor();
    await page.getByLabel('Status').selectOption({ label: 'closed' });
    await Promise.all([page.waitForURL(/status=closed/), page.getByRole('button', { name: 'Show' }).click()]);
    await page.getByRole('link', { name: closed }).waitFor();
    expect(await page.getByRole('link', { name: open }).count()).toBe(0);
    expect(await page.getByRole('link', { name: solved }).count()).toBe(0);
    await snap(page, 'portal-casework-02-closed-list-1280');
    await fitsWidth(1280);
    await Promise.all([page.waitForURL(new RegExp(`/portal/cases/${closed}$`)), page.getByRole('link', { name: closed }).click()]);
    await page.getByText('closed: comment here if you need more help with it').waitFor();
    await page.getByText('We replaced the fuser unit.').waitFor();
  });

  it('fits a phone: the case page and the list do not scroll sideways at 390 px', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${t.base}/portal/cases/${open}`);
    await page.locator('#escalated-at').waitFor();
    await snap(page, 'portal-casework-03-case-390');
    await fitsWidth(390);
    await page.goto(`${t.base}/portal/cases?status=closed`);
    await page.getByRole('link', { name: closed }).waitFor();
    await snap(page, 'portal-casework-04-closed-list-390');
    await fitsWidth(390);
    await page.goto(`${t.base}/portal/cases`);
    await page.getByRole('link', { name: open }).waitFor();
    await snap(page, 'portal-casework-05-list-390');
    await fitsWidth(390);
    await page.goto(`${t.base}/portal/cases/${another}`);
    await page.getByRole('button', { name: 'Request escalation' }).waitFor();
    await snap(page, 'portal-casework-07-open-case-forms-390');
    await fitsWidth(390);
    await page.goto(`${t.base}/portal/cases/${closed}`);
    await snap(page, 'portal-casework-06-closed-case-390');
    await fitsWidth(390);
  });
});
