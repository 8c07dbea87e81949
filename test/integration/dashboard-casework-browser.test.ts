import type { Browser, BrowserContext, Page } from 'playwright-core';
import { escalateCase } from '../../src/cases/customer-side';
import { fileRawMessage } from '../../src/intake/ingest';
import { setStaffPassword } from '../../src/staff/accounts';
import { snap } from '../support/artifacts';
import { launchBrowser } from '../support/browser';
import { startTestService, type TestService } from '../support/service';
import { STAFF_PASSWORD } from '../support/staff';

const STAFF = 'agent@support.example.com';

describe('working a case on the dashboard in a real Chromium', () => {
  let t: TestService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let ref: string;
  const db = () => t.app.ctx.db;
  const scrollWidth = (p: Page) => p.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);

  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService(), launchBrowser()]);
    await setStaffPassword(db(), STAFF, STAFF_PASSWORD);
    await setStaffPassword(db(), 'second.agent-with-a-long-name@support.example.com', STAFF_PASSWORD);
    // Erin (a user of Acme Production) writes with two people in Cc: the case opens.
    const raw = [
      'From: Erin Contractor <erin@mail.test>',
      'To: support@support.example.com',
      'Cc: dave@acme.test, pat.with-a-rather-long-address@subsidiary.mail.test',
      'Subject: The label printer in building 7 prints every label twice',
      'Message-ID: <casework-browser-1@tests.case-intake.test>',
      `Date: ${new Date().toUTCString()}`,
      '',
      'Since Monday every label comes out twice. We restarted it already.',
      '',
    ].join('\r\n');
    const taken = await fileRawMessage(t.app.ctx.intake, Buffer.from(raw), { source: 'pipe' });
    if (taken.outcome !== 'case') throw new Error(taken.outcome);
    ref = taken.reference;
    await t.caseIn(ref, 'open');
    await escalateCase(t.app.ctx.casework, ref, { email: 'erin@mail.test', name: 'Erin Contractor' }, 'The warehouse cannot ship anything until this works.');

    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${t.base}/login?next=${encodeURIComponent(`/dashboard/cases/${ref}`)}`);
    await page.getByLabel('Email').fill(STAFF);
    await page.getByLabel('Password').fill(STAFF_PASSWORD);
    await Promise.all([page.waitForURL(`${t.base}/dashboard/cases/${ref}`), page.getByRole('button', { name: 'Sign in' }).click()]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows the escalation, who is in Cc, and the forms', async () => {
    const escalation = page.locator('#escalation');
    await expect(escalation.textContent()).resolves.toMatch(/escalated\s+by erin@mail\.test · .+UTC\s+The warehouse cannot ship anything until this works\./);
    await expect(page.locator('#reply-cc').textContent()).resolves.toBe('dave@acme.test, pat.with-a-rather-long-address@subsidiary.mail.test');
    await expect(page.getByLabel('Copy the participants (Cc)').isChecked()).resolves.toBe(true);
    await expect(page.locator('#case-assignee').textContent()).resolves.toBe('unassigned');
  });

  it('replies with an attachment and "Send and set pending": the reply is in the thread, the case pending, the mail queued', async () => {
    await page.getByLabel('Your reply').fill('Thanks Erin. Please send us a photo of the printer’s settings screen.\n\nThe manual is attached.');
    await page.getByLabel('Attachments').setInputFiles({ name: 'printer-manual.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 the manual\n') });
    await Promise.all([page.waitForURL(/notice=replied$/), page.getByRole('button', { name: 'Send and set pending' }).click()]);
    await expect(page.locator('#notice').textContent()).resolves.toBe('Your reply is on its way to the requester.');
    await expect(page.locator('#case-status').textContent()).resolves.toMatch(/^pending/);
    const staffReply = page.locator('article.message', { has: page.locator('.badge.staff-reply') });
    await expect(staffReply.textContent()).resolves.toContain('Please send us a photo');
    await expect(staffReply.getByRole('link', { name: 'printer-manual.pdf' }).count()).resolves.toBe(1);
    const mail = await db().selectFrom('outbox as o').innerJoin('cases as c', 'c.id', 'o.case_id').select(['o.to_address', 'o.cc_addresses', 'o.message_ref']).where('c.reference', '=', ref).where('o.kind', '=', 'staff_reply').execute();
    expect(mail).toEqual([{ to_address: 'erin@mail.test', cc_addresses: ['dave@acme.test', 'pat.with-a-rather-long-address@subsidiary.mail.test'], message_ref: expect.any(String) }]);
  });

  it('adds an internal note, shown as internal', async () => {
    await page.getByLabel('New internal note').fill('Erin said on the phone the printer was moved last week; check the driver.');
    await Promise.all([page.waitForURL(/notice=noted$/), page.getByRole('button', { name: 'Add internal note' }).click()]);
    const note = page.locator('#notes article.note');
    await expect(note.count()).resolves.toBe(1);
    await expect(note.locator('.badge.internal').textContent()).resolves.toBe('internal note');
    await expect(note.textContent()).resolves.toContain('the printer was moved last week');
    // A note is no message: the thread did not grow.
    await expect(page.locator('article.message').count()).resolves.toBe(2);
  });

  it('"Assign to me" shows me as the assignee', async () => {
    await Promise.all([page.waitForURL(/notice=assigned$/), page.getByRole('button', { name: 'Assign to me' }).click()]);
    await expect(page.locator('#case-assignee').textContent()).resolves.toBe(STAFF);
    await expect(page.getByLabel('Assignee').inputValue()).resolves.toBe(STAFF);
    await expect(page.getByRole('button', { name: 'Assign to me' }).count()).resolves.toBe(0);
    await snap(page, 'dashboard-casework-01-desktop');
    expect(await scrollWidth(page)).toBeLessThanOrEqual(1280);
  });

  it('is usable at phone width: nothing scrolls sideways', async () => {
    const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await context.storageState() })).newPage();
    await phone.goto(`${t.base}/dashboard/cases/${ref}`);
    await phone.locator('#escalation').waitFor();
    await snap(phone, 'dashboard-casework-02-phone');
    expect(await scrollWidth(phone)).toBeLessThanOrEqual(390);
    for (const id of ['#reply', '#notes', '#work', '#escalation']) {
      const box = await phone.locator(id).boundingBox();
      expect([id, box!.x >= 0 && box!.x + box!.width <= 390]).toEqual([id, true]);
    }
    // Assignment and status come right after the case's facts, not below the whole thread.
    const [work, thread] = [await phone.locator('#work').boundingBox(), await phone.locator('section.thread').boundingBox()];
    expect(work!.y).toBeLessThan(thread!.y);
    await phone.close();
  });
});
