import type { Browser, Locator, Page } from 'playwright-core';
import { setStaffPassword } from '../../src/staff/accounts';
import { snap } from '../support/artifacts';
import { launchBrowser, openPage } from '../support/browser';
import { startTestService, type TestService } from '../support/service';
import { signInToPortal } from '../support/portal';
import { STAFF_PASSWORD } from '../support/staff';

const STAFF = 'agent@support.example.com';

/** The control says it is invalid, and the text it points to says why. */
async function expectFieldError(page: Page, control: Locator, words: RegExp): Promise<void> {
  await expect(control.getAttribute('aria-invalid')).resolves.toBe('true');
  const id = await control.getAttribute('aria-describedby');
  expect(id).toBeTruthy();
  await expect(page.locator(`[id="${id}"]`).textContent()).resolves.toMatch(words);
}

// Refused forms come back as typed (never a password), with the problem at the field.
describe('forms keep what was typed and show errors at the field, in a real Chromium', () => {
  let t: TestService;
  let browser: Browser;
  let page: Page;
  let ref: string;
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService(), launchBrowser()]);
    await setStaffPassword(t.app.ctx.db, STAFF, STAFF_PASSWORD);
    ref = await t.write('Bob Builder <bob@acme.test>', 'The scanner on floor two is offline', { to: 'acme-prod@support.example.com' });
    await t.caseIn(ref, 'open');
    page = await openPage(browser, { width: 390, height: 844 });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('staff sign-in: a wrong password keeps the email, empties the password and says so at the password', async () => {
    await page.goto(`${t.base}/login`);
    await page.getByLabel('Email').fill(STAFF);
    await page.getByLabel('Password').fill('not the password');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
    await snap(page, 'forms-01-staff-sign-in-refused');
    await expect(page.getByLabel('Email').inputValue()).resolves.toBe(STAFF);
    await expect(page.getByLabel('Password').inputValue()).resolves.toBe('');
    await expectFieldError(page, page.getByLabel('Password'), /do not match an account/);
  });

  it('dashboard: a blank internal note comes back with the problem at the note, what was typed kept', async () => {
    await page.getByLabel('Password').fill(STAFF_PASSWORD);
    await Promise.all([page.waitForURL(`${t.base}/dashboard`), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.goto(`${t.base}/dashboard/cases/${ref}`);
    const note = page.getByLabel('New internal note');
    await note.fill('   \n   ');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Add internal note' }).click()]);
    await snap(page, 'forms-02-note-refused');
    await expect(note.inputValue()).resolves.toBe('   \n   ');
    await expectFieldError(page, note, /must not be empty/);
    // The reply form next to it is not blamed.
    await expect(page.getByLabel('Your reply').getAttribute('aria-invalid')).resolves.toBeNull();
  });

  describe('the portal, signed in as a company administrator', () => {
    beforeAll(async () => {
      await signInToPortal(page, t, 'bob@acme.test');
    });

    it('team: adding a member with a blank name keeps the email and the role chosen, the problem at the name', async () => {
      await page.goto(`${t.base}/portal/team`);
      const form = page.locator('#add-member');
      await form.getByLabel('Email').fill('nora.night-shift@acme.test');
      await form.getByLabel('Name').fill('   ');
      await form.getByRole('combobox', { name: 'Acme Production' }).selectOption('user');
      await Promise.all([page.waitForLoadState('load'), form.getByRole('button', { name: 'Add member' }).click()]);
      await snap(page, 'forms-03-team-add-refused');
      await expect(form.getByLabel('Email').inputValue()).resolves.toBe('nora.night-shift@acme.test');
      await expect(form.getByRole('combobox', { name: 'Acme Production' }).inputValue()).resolves.toBe('user');
      await expectFieldError(page, form.getByLabel('Name'), /required/);
      await expect(form.getByLabel('Email').getAttribute('aria-invalid')).resolves.toBeNull();
    });

    it('case: a blank escalation reason comes back with the problem at the reason', async () => {
      await page.goto(`${t.base}/portal/cases/${ref}`);
      const reason = page.getByLabel('Why does it need escalating?');
      await reason.fill('  ');
      await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Request escalation' }).click()]);
      await snap(page, 'forms-04-escalation-refused');
      await expectFieldError(page, reason, /say why the case needs escalating/);
      await expect(reason.inputValue()).resolves.toBe('  ');
    });
  });
});
