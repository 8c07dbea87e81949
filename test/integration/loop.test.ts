import { fileRawMessage } from '../../src/intake/ingest';
import { eventually } from '../support/env';
import { makeMessage } from '../support/messages';
import { startTestService, type TestService } from '../support/service';

describe('mail loops end within the ceilings', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ AUTO_REPLY_PER_SENDER_PER_HOUR: '3', SENDER_CASE_LIMIT: '5', SENDER_CASE_WINDOW: '10m' });
  });
  afterAll(() => t.close());

  it('stops answering an auto-responder that answers everything (even one that looks like a person)', async () => {
    // The worst kind: no Auto-Submitted, no threading headers, a fresh subject every time.
    let answered = 0;
    const bot = setInterval(() => {
      const incoming = t.sink.to('erin@mail.test');
      while (answered < incoming.length) {
        answered++;
        void fileRawMessage(t.app.ctx.intake, makeMessage({ from: 'erin@mail.test', subject: `Thanks for your message #${answered}`, id: `bot-${answered}` }), { source: 'pipe' });
      }
    }, 50);
    try {
      await t.write('erin@mail.test', 'Start of the loop');
      await eventually(async () => t.sink.to('erin@mail.test').length >= 3);
      // Quiet for a while: nothing more goes out, however long the bot keeps trying.
      await new Promise((r) => setTimeout(r, 2000));
      expect(t.sink.to('erin@mail.test')).toHaveLength(3);
      const cases = await t.app.ctx.db.selectFrom('cases').select('status').where('requester_email', '=', 'erin@mail.test').execute();
      expect(cases).toHaveLength(4);
    } finally {
      clearInterval(bot);
    }
  });

  it('holds a sender who opens too many cases as rate_limited and mails nobody about them', async () => {
    const refs: string[] = [];
    for (let i = 0; i < 7; i++) refs.push(await t.write('mallory@acme.test', `Flood ${i}`));
    for (const ref of refs) await t.caseIn(ref, 'suspended');
    const rows = await t.app.ctx.db.selectFrom('cases').select(['reference', 'hold_reason']).where('requester_email', '=', 'mallory@acme.test').orderBy('id').execute();
    expect(rows.map((r) => r.hold_reason)).toEqual(['unknown_sender', 'unknown_sender', 'unknown_sender', 'unknown_sender', 'unknown_sender', 'rate_limited', 'rate_limited']);
    const approvals = await t.app.ctx.db.selectFrom('approvals').select('id').where('requester_email', '=', 'mallory@acme.test').execute();
    expect(approvals).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500));
    // Held notices stop at the per-address ceiling (3); none at all for the rate-limited cases.
    expect(t.sink.to('mallory@acme.test').filter((m) => /Flood [56]/.test(m.parsed.subject ?? ''))).toHaveLength(0);
    expect(t.sink.to('mallory@acme.test').length).toBeLessThanOrEqual(3);
  });
});
