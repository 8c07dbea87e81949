import { eventually } from '../support/env';
import { freePort } from '../support/smtp-sink';
import { startTestService, type TestService } from '../support/service';

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
    const list = await eventually(async () => {
      const html = await (await fetch(`${t.base}/dev/mail`)).text();
      return html.includes('Authorize quinn@acme.test') ? html : undefined;
    });
    const index = /href="\/dev\/mail\/(\d+)">\[CASE-\d+\] Authorize quinn/.exec(list)?.[1];
    expect(index).toBeDefined();
    const res = await fetch(`${t.base}/dev/mail/${index}`);
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox /);
    expect(await res.text()).toContain(`${t.base}/approvals/`);
    // Nothing reached the external sink: the embedded server kept it.
    expect(t.sink.messages).toHaveLength(0);
  });

  it('is not there without DEV_SMTP_LISTEN', async () => {
    const plain = await startTestService();
    try {
      expect((await fetch(`${plain.base}/dev/mail`)).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
