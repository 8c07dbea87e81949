import { eventually } from '../support/env';
import { freePort } from '../support/smtp-sink';
import { startTestService, type TestService } from '../support/service';
import { signedInStaff } from '../support/staff';

describe('the demo: development SMTP server captures outbound mail and shows it', () => {
  let t: TestService;
  beforeAll(async () => {
    const port = await freePort();
    // Outbound mail goes to the embedded server itself, as in `npm run demo`.
    t = await startTestService({ DEV_SMTP_LISTEN: `127.0.0.1:${port}`, SMTP_URL: `smtp://127.0.0.1:${port}` });
  });
  afterAll(() => t.close());

  it('lists the captured mail and serves each one sandboxed, with working approval links', async () => {
    const ref = await t.write('Quinn <quinn@acme.test>', 'Demo approval');
    await t.caseIn(ref, 'suspended');
    // Captured mail carries live approval links: it is for signed-in staff only.
    expect((await fetch(`${t.base}/dev/mail`, { redirect: 'manual' })).status).toBe(303);
    const staff = await signedInStaff(t.app.ctx.db, t.base);
    const list = await eventually(async () => {
      const html = (await staff.get('/dev/mail')).text;
      return html.includes('Authorize quinn@acme.test') ? html : undefined;
    });
    const index = /href="\/dev\/mail\/(\d+)">\[CASE-\d+\] Authorize quinn/.exec(list)?.[1];
    expect(index).toBeDefined();
    const { res, text } = await staff.get(`/dev/mail/${index}`);
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox /);
    expect(text).toContain(`${t.base}/approvals/`);
    // Nothing reached the external sink: the embedded server kept it.
    expect(t.sink.messages).toHaveLength(0);
  });

  it('is not there without DEV_SMTP_LISTEN', async () => {
    const plain = await startTestService();
    try {
      const staff = await signedInStaff(plain.app.ctx.db, plain.base);
      expect((await staff.get('/dev/mail')).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
