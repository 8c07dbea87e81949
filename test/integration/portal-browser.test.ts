import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { snap } from '../support/artifacts';
import { launchBrowser, openPage } from '../support/browser';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';

describe('an administrator uses the customer portal in a real Chromium', () => {
  let t: TestService;
  let browser: Browser;
  let page: Page;
  let held: string;
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService(), launchBrowser()]);
    held = await t.write('Mallory Stranger <mallory@acme.test>', 'VPN is down for the night shift');
    await t.caseIn(held, 'suspended');
    page = await openPage(browser, { width: 1280, height: 900 });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('asks for a link, follows it from the captured mail and signs in', async () => {
    await page.goto(`${t.base}/portal/cases`);
    expect(page.url()).toBe(`${t.base}/portal/login`);
    await page.getByLabel('Your email address').fill('bob@acme.test');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Email me a sign-in link' }).click()]);
    await page.getByText('If this address is on file, a sign-in link is on its way.').waitFor();
    await snap(page, 'portal-01-link-requested');

    const mail = await eventually(async () => t.sink.to('bob@acme.test').find((m) => /sign-in link/i.test(m.parsed.subject ?? '')));
    const dir = await mkdtemp(join(tmpdir(), 'portal-mail-'));
    await writeFile(join(dir, 'mail.html'), String(mail.parsed.html));
    await page.goto(`file://${join(dir, 'mail.html')}`);
    await snap(page, 'portal-02-mail');
    await Promise.all([page.waitForURL(/\/portal\/login\//), page.getByRole('link', { name: 'Sign in to the support portal' }).click()]);
    await snap(page, 'portal-03-sign-in-button');
    await Promise.all([page.waitForURL(`${t.base}/portal`), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.getByText('Bob Builder · bob@acme.test').waitFor();
    await snap(page, 'portal-04-home');
  });

  it('authorizes the held case from the approvals list', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Approvals' }).click();
    await page.getByText('mallory@acme.test').waitFor();
    await snap(page, 'portal-05-approvals');
    await Promise.all([page.waitForURL(new RegExp(`/portal/cases/${held}$`)), page.getByRole('link', { name: held }).click()]);
    await page.getByText('waiting for your administrators’ approval').waitFor();
    await snap(page, 'portal-06-held-case');
    await Promise.all([page.waitForURL(/notice=authorized/), page.getByRole('button', { name: 'Authorize' }).click()]);
    await expect(page.locator('#case-status').textContent()).resolves.toMatch(/^open/);
    await snap(page, 'portal-07-authorized');
    await t.caseIn(held, 'open');
    const approval = await t.app.ctx.db.selectFrom('approvals').select(['decided_by', 'channel']).where('requester_email', '=', 'mallory@acme.test').executeTakeFirstOrThrow();
    expect(approval).toEqual({ decided_by: 'bob@acme.test', channel: 'portal' });
  });

  it('adds a member to the infrastructure he administers, who is invited by mail', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Team' }).click();
    await page.getByRole('heading', { name: 'Add a member' }).waitFor();
    await snap(page, 'portal-08-team');
    const form = page.locator('#add-member');
    await form.getByLabel('Email').fill('nora@acme.test');
    await form.getByLabel('Name').fill('Nora Night-Shift');
    await form.getByRole('combobox', { name: 'Acme Production' }).selectOption('user');
    await Promise.all([page.waitForURL(/done=added/), form.getByRole('button', { name: 'Add member' }).click()]);
    await page.getByText('Added nora@acme.test. They get an invitation by mail and may open cases at once on Acme Production.').waitFor();
    await page.getByText('Nora Night-Shift').waitFor();
    await snap(page, 'portal-09-member-added');
    const invitation = await eventually(async () => t.sink.to('nora@acme.test')[0]);
    expect(String(invitation.parsed.html)).toContain(`${t.base}/portal/login/`);
    // Her mail goes straight through now.
    const ref = await t.write('Nora <nora@acme.test>', 'First case as a member');
    await t.caseIn(ref, 'open');
  });

  it('gives a held member a role: the page says where they may now open cases, and their held case opens', async () => {
    const ref = await t.write('Dave <dave@acme.test>', 'Held until I have a role');
    expect((await t.caseIn(ref, 'suspended')).holdReason).toBe('not_permitted');
    const dave = await t.app.ctx.db.selectFrom('contacts').select('id').where('email', '=', 'dave@acme.test').executeTakeFirstOrThrow();
    const member = page.locator(`#member-${dave.id}`);
    await member.locator('summary').getByText('May not open cases: their mail is held for approval.').waitFor();
    await member.locator('summary').click();
    await member.getByRole('combobox', { name: 'Acme Production' }).selectOption('user');
    await Promise.all([page.waitForURL(/done=saved/), member.getByRole('button', { name: 'Save' }).click()]);
    await page.getByText('Saved. One held case was released: its requester may now open cases there.').waitFor();
    await page.locator(`#member-${dave.id} summary`).getByText('May open cases on Acme Production.').waitFor();
    await snap(page, 'portal-10-role-given');
    await t.caseIn(ref, 'open');
    await eventually(async () => t.sink.to('dave@acme.test').find((m) => (m.parsed.text ?? '').includes(ref) && /open/i.test(m.parsed.subject ?? '')));
  });

  it('signs out', async () => {
    await Promise.all([page.waitForURL(`${t.base}/portal/login`), page.getByRole('button', { name: 'Sign out' }).click()]);
    await page.goto(`${t.base}/portal/approvals`);
    expect(page.url()).toBe(`${t.base}/portal/login`);
  });
});
