import { getCaseByReference } from '../../src/cases/api-view';
import { fileRawMessage } from '../../src/intake/ingest';
import type { IntakeResult } from '../../src/intake/filing';
import { createTestApp, type TestApp } from '../support/env';

// Each shape of bad mail the issue lists, with its defined outcome: a case (with what it keeps)
// or a quarantined raw message with the reason. Never a crash, never a loss.
describe('bad mail has a defined outcome', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const take = (raw: Buffer | string): Promise<IntakeResult> => fileRawMessage(app.ctx.intake, Buffer.isBuffer(raw) ? raw : Buffer.from(raw), { source: 'pipe' });
  const caseFor = async (raw: Buffer | string) => {
    const r = await take(raw);
    if (r.outcome !== 'case') throw new Error(`expected a case, got ${JSON.stringify(r)}`);
    return (await getCaseByReference(app.ctx.db, r.reference))!;
  };

  it('many attachments: a case with every one of them', async () => {
    let parts = '';
    for (let i = 0; i < 300; i++) parts += `--x\r\nContent-Type: text/plain; name="f${i}.txt"\r\nContent-Disposition: attachment; filename="f${i}.txt"\r\n\r\nfile ${i}\r\n`;
    const c = await caseFor(`From: a@many.test\r\nSubject: many\r\nMessage-ID: <many@bad.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nbody\r\n${parts}--x--\r\n`);
    expect(c.messages[0]!.attachments).toHaveLength(300);
  });

  it('deep MIME nesting: a case with the innermost text', async () => {
    let body = 'Content-Type: text/plain\r\n\r\nthe innermost text\r\n';
    for (let i = 0; i < 200; i++) body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}--b${i}--\r\n`;
    const c = await caseFor(`From: a@deep.test\r\nSubject: deep\r\nMessage-ID: <deep@bad.test>\r\nMIME-Version: 1.0\r\n${body}`);
    expect(c.messages[0]!.text).toContain('the innermost text');
  });

  it('no From: quarantined with the reason', async () => {
    expect(await take('To: support@support.example.com\r\nSubject: nobody\r\nMessage-ID: <nofrom@bad.test>\r\n\r\nx\r\n')).toMatchObject({ outcome: 'quarantined', error: expect.stringMatching(/no sender address/) });
  });

  it('several From addresses: the Sender header names the requester, else the first', async () => {
    expect((await caseFor('From: a@two.test, b@two.test\r\nSender: b@two.test\r\nSubject: two authors\r\nMessage-ID: <two1@bad.test>\r\n\r\nx\r\n')).requesterEmail).toBe('b@two.test');
    expect((await caseFor('From: a@two.test, b@two.test\r\nSubject: two authors, no sender\r\nMessage-ID: <two2@bad.test>\r\n\r\nx\r\n')).requesterEmail).toBe('a@two.test');
  });

  it('no Message-ID: a stable one derived from the content, and a second delivery is still one case', async () => {
    const raw = 'From: a@noid.test\r\nSubject: no id\r\n\r\nx\r\n';
    const first = await take(raw);
    expect(await take(raw)).toEqual({ outcome: 'duplicate' });
    const stored = await app.ctx.db.selectFrom('messages').select('message_id').where('subject', '=', 'no id').executeTakeFirstOrThrow();
    expect(stored.message_id).toMatch(/^derived-[0-9a-f]{40}@case-intake\.invalid$/);
    expect(first.outcome).toBe('case');
  });

  it('8-bit headers: UTF-8 as UTF-8, other bytes as windows-1252', async () => {
    const utf8 = Buffer.concat([Buffer.from('From: a@8bit.test\r\nMessage-ID: <8a@bad.test>\r\nSubject: '), Buffer.from('Grüße – 日本', 'utf8'), Buffer.from('\r\n\r\nx\r\n')]);
    expect((await caseFor(utf8)).subject).toBe('Grüße – 日本');
    const latin1 = Buffer.concat([Buffer.from('From: a@8bit.test\r\nMessage-ID: <8b@bad.test>\r\nSubject: '), Buffer.from('Grüße aus Köln', 'latin1'), Buffer.from('\r\n\r\nx\r\n')]);
    expect((await caseFor(latin1)).subject).toBe('Grüße aus Köln');
  });

  it('unknown charsets: a case with the text as the parser best reads it', async () => {
    const c = await caseFor('From: a@charset.test\r\nMessage-ID: <cs@bad.test>\r\nSubject: =?x-unknown-9?B?SGVsbG8=?=\r\nContent-Type: text/plain; charset=x-unknown-9\r\n\r\nHello body\r\n');
    expect(c.subject).toBe('Hello');
    expect(c.messages[0]!.text).toContain('Hello body');
  });

  it("header lines of megabytes: quarantined with the parser's reason, raw kept whole", async () => {
    const raw = Buffer.from(`From: a@huge.test\r\nMessage-ID: <hugeheader@bad.test>\r\nSubject: ${'A'.repeat(3 * 1024 * 1024)}\r\n\r\nbody\r\n`);
    const r = await take(raw);
    expect(r).toMatchObject({ outcome: 'quarantined', error: expect.stringMatching(/header size/i) });
    const row = await app.ctx.db.selectFrom('raw_messages').select(['raw', 'size']).where('message_id', '=', 'hugeheader@bad.test').executeTakeFirstOrThrow();
    expect(row.size).toBe(raw.length);
  });

  it('a very long but legal subject is cut to 998 characters', async () => {
    const c = await caseFor(`From: a@long.test\r\nMessage-ID: <long@bad.test>\r\nSubject: ${'word '.repeat(2000)}\r\n\r\nx\r\n`);
    expect(c.subject.length).toBeLessThanOrEqual(998);
  });
});
