import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fileRawMessage } from '../../src/intake/ingest';
import { setStaffPassword } from '../../src/staff/accounts';
import { addEndpoint } from '../../src/webhooks/endpoints';
import { snap } from '../support/artifacts';
import { launchBrowser } from '../support/browser';
import { eventually } from '../support/env';
import { pageFit } from '../support/page-fit';
import { linkIn, startTestService, type TestService } from '../support/service';
import { signInToPortal } from '../support/portal';
import { STAFF_PASSWORD } from '../support/staff';

const STAFF = 'agent@support.example.com';
// Realistic worst cases: long names, long addresses, long subjects, an unbroken token.
const LONG_STAFF = 'maximiliana.fitzgerald-oyelaran@support-operations.example.com';
const LONG_SENDER = 'Maximiliana Fitzgerald-Oyelaran <maximiliana.fitzgerald-oyelaran.night-shift@acme.test>';
const LONG_SUBJECT = 'The label printer in building seven prints every label twice and then jams on the third one since Tuesday';
const TOKEN_SUBJECT = 'Backup failed: ERR_REPLICATION_TARGET_UNREACHABLE_0x80070005_acme-prod-db-replica-03.internal';
const PROD = { to: 'acme-prod@support.example.com' };

const WIDTHS = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1280, height: 800 },
];

// Every dashboard and portal page (and the public approval page) at a phone's and a desktop's
// width: no page-level sideways scroll, no text squeezed until it breaks letter by letter.
// Bull Board (/dashboard/queues) is its own application and is not measured.
describe('every page fits a 390 px phone and a 1280 px desktop', () => {
  let t: TestService;
  let browser: Browser;
  const refs = { open: '', held: '', token: '' };
  let approvalPath = '';
  let endpointId = '';

  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestService(), launchBrowser()]);
    const db = t.app.ctx.db;
    await setStaffPassword(db, STAFF, STAFF_PASSWORD);
    await setStaffPassword(db, LONG_STAFF, STAFF_PASSWORD);
    endpointId = (await addEndpoint(db, t.app.ctx.webhooks.box, { url: 'http://127.0.0.1:9/a-rather-long-path/for-the-help-desk-of-a-subsidiary/hooks?tenant=acme-production-eu-west', eventTypes: ['case.created', 'case.status_changed'] })).id;
    refs.open = await t.write('Bob Builder <bob@acme.test>', LONG_SUBJECT, { ...PROD, body: `${LONG_SUBJECT}\n\nSee https://intranet.acme.test/printers/building-seven/label-printer-03/diagnostics?session=8f0c2a9d4b7e11ee8c90242ac120002 for the log.` });
    await t.caseIn(refs.open, 'open');
    refs.token = await t.write('Bob Builder <bob@acme.test>', TOKEN_SUBJECT, PROD);
    await t.caseIn(refs.token, 'open');
    const before = t.sink.to('bob@acme.test').length;
    refs.held = await t.write(LONG_SENDER, LONG_SUBJECT, PROD);
    await t.caseIn(refs.held, 'suspended');
    const request = await eventually(async () => t.sink.to('bob@acme.test').slice(before).find((m) => String(m.parsed.html ?? '').includes(`${t.base}/approvals/`)));
    approvalPath = new URL(linkIn(String(request.parsed.html), `${t.base}/approvals/`)).pathname;
    await fileRawMessage(t.app.ctx.intake, Buffer.from(`Subject: ${LONG_SUBJECT}\r\n\r\nno sender at all\r\n`), { source: 'pipe' });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const staffPages = (): Array<[string, string]> => [
    ['overview', '/dashboard'],
    ['cases', '/dashboard/cases'],
    ['cases-held', '/dashboard/cases?status=suspended'],
    ['case-open', `/dashboard/cases/${refs.open}`],
    ['case-token', `/dashboard/cases/${refs.token}`],
    ['case-held', `/dashboard/cases/${refs.held}`],
    ['intake', '/dashboard/intake'],
    ['directory', '/dashboard/directory'],
    ['webhooks', '/dashboard/webhooks'],
    ['webhook', `/dashboard/webhooks/${endpointId}`],
  ];
  const portalPages = (): Array<[string, string]> => [
    ['portal-home', '/portal'],
    ['portal-cases', '/portal/cases'],
    ['portal-case', `/portal/cases/${refs.open}`],
    ['portal-case-held', `/portal/cases/${refs.held}`],
    ['portal-approvals', '/portal/approvals'],
    ['portal-team', '/portal/team'],
  ];

  /** Visits each page, screenshots it, and expects every one to fit its viewport (all measured before the verdict). */
  async function expectAllFit(page: Page, width: string, pages: Array<[string, string]>): Promise<void> {
    const unfit = [];
    for (const [name, path] of pages) {
      await page.goto(`${t.base}${path}`);
      await snap(page, `fit-${width}-${name}`);
      const fit = await pageFit(page);
      if (fit.scrollWidth > fit.viewport || fit.squeezed.length > 0 || fit.brokenWords.length > 0) unfit.push({ page: name, scrollWidth: fit.scrollWidth, squeezed: fit.squeezed, brokenWords: fit.brokenWords });
    }
    expect(unfit).toEqual([]);
  }

  describe.each(WIDTHS)('at $width px', ({ name: width, ...viewport }) => {
    let context: BrowserContext;
    let page: Page;
    beforeAll(async () => {
      context = await browser.newContext({ viewport });
      page = await context.newPage();
      page.setDefaultTimeout(10_000);
    });
    afterAll(async () => context?.close());

    it('fits the sign-in pages and the approval page', async () => {
      await expectAllFit(page, width, [
        ['login', '/login'],
        ['portal-login', '/portal/login'],
        ['approval', approvalPath],
      ]);
    });

    it('fits every staff page', async () => {
      await page.goto(`${t.base}/login`);
      await page.getByLabel('Email').fill(LONG_STAFF);
      await page.getByLabel('Password').fill(STAFF_PASSWORD);
      await Promise.all([page.waitForURL(`${t.base}/dashboard`), page.getByRole('button', { name: 'Sign in' }).click()]);
      await expectAllFit(page, width, staffPages());
    });

    it('fits every portal page', async () => {
      await signInToPortal(page, t, 'bob@acme.test');
      await expectAllFit(page, width, portalPages());
    });
  });
});
