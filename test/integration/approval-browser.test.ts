import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';

describe('an administrator authorizes from the email, in a real Chromium', () => {
  let t: TestService;
  let browser: Browser;
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('opens the Authorize link from the approval mail and presses the Authorize button', async () => {
    const ref = await t.write('Wanda <wanda@acme.test>', 'Browser approval');
    await t.caseIn(ref, 'suspended');
    const mail = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes('wanda@acme.test')));

    const context = await browser.newContext();
    const page = await context.newPage();
    // The email as the approver's mail client shows it; its Authorize link leads to our page.
    const dir = await mkdtemp(join(tmpdir(), 'approval-mail-'));
    const mailFile = join(dir, 'mail.html');
    await writeFile(mailFile, String(mail.parsed.html));
    await page.goto(`file://${mailFile}`);
    await Promise.all([page.waitForURL(/\/approvals\//), page.getByRole('link', { name: /authorize/i }).first().click()]);
    expect(page.url()).toMatch(new RegExp(`^${t.base}/approvals/[0-9a-z.]+\\?decision=authorize$`));
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(/Authorize wanda@acme\.test/);
    // Opening the page decided nothing.
    expect((await t.caseIn(ref, 'suspended')).status).toBe('suspended');

    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Authorize' }).click()]);
    await page.getByText('Authorized.').waitFor();
    await page.screenshot({ path: join(dir, 'authorized.png') });
    await t.caseIn(ref, 'open');
    await context.close();
  });
});
