import { takeIn } from '../../src/intake/ingest';
import { eventually } from '../support/env';
import { makeMessage } from '../support/messages';
import { startTestService, type TestService } from '../support/service';

const AUTHSERV = 'mx.support.example.com';

describe('oversize mail and unverified senders', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ MAX_MESSAGE_BYTES: '4096', INBOUND_AUTHSERV_ID: AUTHSERV });
  });
  afterAll(() => t.close());

  const verified = (from: string, subject: string, id: string, body?: string) =>
    Buffer.concat([Buffer.from(`Authentication-Results: ${AUTHSERV}; dkim=pass header.d=acme.test; dmarc=pass header.from=acme.test\r\n`), makeMessage({ from, subject, id, body })]);
  const caseOf = async (raw: Buffer) => {
    const result = await takeIn(t.app.ctx.intake, raw, { source: 'pipe' });
    if (result.outcome !== 'case') throw new Error(result.outcome);
    return result.reference;
  };

  it('opens a member whose mail our server verified', async () => {
    await t.caseIn(await caseOf(verified('bob@acme.test', 'Verified member', 'v-1')), 'open');
  });

  it('holds a member whose mail was not verified as sender_not_verified, and asks the administrators', async () => {
    const ref = await caseOf(Buffer.concat([Buffer.from('Authentication-Results: mx.attacker.test; dmarc=pass\r\n'), makeMessage({ from: 'bob@acme.test', subject: 'Forged?', id: 'v-2' })]));
    const c = await t.caseIn(ref, 'suspended');
    expect(c.holdReason).toBe('sender_not_verified');
    // Bob is acme-prod's only administrator and never approves himself: the company admin is asked.
    await eventually(async () => t.sink.to('alice@acme.test').find((m) => (m.parsed.subject ?? '').includes('Authorize bob@acme.test')));
  });

  it('keeps strangers unknown_sender, verified or not', async () => {
    const c = await t.caseIn(await caseOf(makeMessage({ from: 'someone@acme.test', subject: 'Unverified stranger', id: 'v-3' })), 'suspended');
    expect(c.holdReason).toBe('unknown_sender');
  });

  it('keeps an oversize message whole, holds its case as too_large and tells the sender the limit', async () => {
    const big = verified('bob@acme.test', 'Huge log', 'v-4', 'x'.repeat(10_000));
    const ref = await caseOf(big);
    const c = await t.caseIn(ref, 'suspended');
    expect(c.holdReason).toBe('too_large');
    expect(c.messages[0]!.text).toMatch(/over the limit of 4096/);
    const raw = await t.app.ctx.db.selectFrom('raw_messages').select(['raw', 'size']).where('message_id', '=', 'v-4@tests.case-intake.test').executeTakeFirstOrThrow();
    expect(raw.raw.equals(big)).toBe(true);
    const notice = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes(ref)));
    expect(notice.parsed.text).toMatch(/Your message is 11 KB, over our limit of 4 KB/);
  });
});
