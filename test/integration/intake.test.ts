import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getCaseByReference } from '../../src/cases/api-view';
import { loadAttachment } from '../../src/cases/detail';
import { fileRawMessage, fileBatch } from '../../src/intake/ingest';
import { recoverInterrupted } from '../../src/intake/recovery';
import { createTestApp, type TestApp } from '../support/env';

const fixture = (name: string) => readFile(join(__dirname, '../../fixtures/intake', name));

describe('fileRawMessage (the intake path shared by the watcher, the MTA pipe and the dev SMTP server)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('writes an attachment over 4 MiB into a large object, a chunk at a time, and serves it whole', async () => {
    const big = randomBytes(5 * 1024 * 1024 + 123);
    const small = Buffer.from('small log line\n');
    const message = (id: string) =>
      Buffer.from(
        [
          'From: bob@acme.test',
          'To: support@support.example.com',
          `Subject: Core dump ${id}`,
          `Message-ID: <${id}@tests.case-intake.test>`,
          'MIME-Version: 1.0',
          'Content-Type: multipart/mixed; boundary="b"',
          '',
          '--b',
          'Content-Type: text/plain',
          '',
          'Dump attached.',
          '--b',
          'Content-Type: application/octet-stream; name="core.bin"',
          'Content-Disposition: attachment; filename="core.bin"',
          'Content-Transfer-Encoding: base64',
          '',
          big.toString('base64').replace(/.{76}/g, '$&\r\n'),
          '--b',
          'Content-Type: text/plain; name="small.log"',
          'Content-Disposition: attachment; filename="small.log"',
          '',
          small.toString(),
          '--b--',
          '',
        ].join('\r\n'),
      );
    // Both ways a case is created: alone (fileRawMessage) and in a fetch's batch (fileBatch).
    const alone = await fileRawMessage(app.ctx.intake, message('lo-alone'), { source: 'pipe' });
    const batch = await fileBatch(app.ctx.intake, [{ raw: message('lo-batch'), origin: { source: 'imap', mailbox: 'INBOX', uidvalidity: '7', uid: 1 } }]);
    for (const result of [alone, batch.results[0]!]) {
      if (result.outcome !== 'case') throw new Error(result.outcome);
      const rows = await app.ctx.db
        .selectFrom('attachments as a')
        .innerJoin('messages as m', 'm.id', 'a.message_id')
        .select(['a.id', 'a.filename', 'a.size', 'a.sha256', 'a.content', 'a.content_oid'])
        .where('m.case_id', '=', result.caseId)
        .orderBy('a.id')
        .execute();
      expect(rows.map((r) => [r.filename, r.size, r.content === null, r.content_oid !== null])).toEqual([
        ['core.bin', big.length, true, true],
        ['small.log', small.length, false, false],
      ]);
      const served = await loadAttachment(app.ctx.db, rows[0]!.id);
      expect(served!.content.equals(big)).toBe(true);
      expect(rows[0]!.sha256).toBe(createHash('sha256').update(big).digest('hex'));
      expect((await loadAttachment(app.ctx.db, rows[1]!.id))!.content.equals(small)).toBe(true);
    }
  });

  it('stores the raw message with its hash and turns it into a case with attachments', async () => {
    const raw = await fixture('with-attachments.eml');
    const result = await fileRawMessage(app.ctx.intake, raw, { source: 'pipe' });
    if (result.outcome !== 'case') throw new Error(result.outcome);
    expect(result.reference).toMatch(/^CASE-\d{6}$/);

    const stored = await app.ctx.db.selectFrom('raw_messages').selectAll().where('id', '=', result.rawId).executeTakeFirstOrThrow();
    expect(stored.raw.equals(raw)).toBe(true);
    expect(stored.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).toMatchObject({ status: 'case', case_id: result.caseId, message_id: 'with-attachments@fixtures.test' });

    const c = await getCaseByReference(app.ctx.db, result.reference);
    expect(c).toMatchObject({ status: 'new', requesterEmail: 'bob@acme.test', subject: 'Logs attached' });
    expect(c!.messages).toHaveLength(1);
    expect(c!.messages[0]!.text).toContain('Café au lait');
    expect(c!.messages[0]!.attachments).toEqual([
      { filename: 'server.log', contentType: 'text/plain', size: 18 },
      { filename: 'screen.png', contentType: 'image/png', size: 70 },
    ]);
    const png = await app.ctx.db.selectFrom('attachments').select(['sha256', 'content']).where('filename', '=', 'screen.png').executeTakeFirstOrThrow();
    expect(png.content!.subarray(1, 4).toString()).toBe('PNG');
    expect(png.sha256).toBe(createHash('sha256').update(png.content!).digest('hex'));
  });

  it('de-duplicates on Message-ID: the same message delivered twice is one case', async () => {
    const raw = await fixture('html-only.eml');
    const first = await fileRawMessage(app.ctx.intake, raw, { source: 'imap', mailbox: 'm1', uidvalidity: '7', uid: 10 });
    // Appended again: new UID, same Message-ID, different trace headers.
    const again = Buffer.concat([Buffer.from('Received: by relay.test; Mon, 23 Nov 2026 09:06:00 +0000\r\n'), raw]);
    const second = await fileRawMessage(app.ctx.intake, again, { source: 'imap', mailbox: 'm1', uidvalidity: '7', uid: 11 });
    expect(first.outcome).toBe('case');
    expect(second).toEqual({ outcome: 'duplicate' });
    const count = await app.ctx.db.selectFrom('cases').select((eb) => eb.fn.countAll<string>().as('n')).where('subject', '=', 'Écran blanc').executeTakeFirstOrThrow();
    expect(count.n).toBe('1');
  });

  it('de-duplicates on mailbox UID', async () => {
    const raw = await fixture('no-message-id.eml');
    const origin = { source: 'imap', mailbox: 'm2', uidvalidity: '1', uid: 5 } as const;
    expect((await fileRawMessage(app.ctx.intake, raw, origin)).outcome).toBe('case');
    const edited = Buffer.from(raw.toString().replace('forget', 'often forget'));
    expect(await fileRawMessage(app.ctx.intake, edited, origin)).toEqual({ outcome: 'duplicate' });
  });

  it('keeps HTML-only mail readable as text', async () => {
    const c = await app.ctx.db.selectFrom('messages').select(['text', 'html']).where('subject', '=', 'Écran blanc').executeTakeFirstOrThrow();
    expect(c.text).toMatch(/screen\W+is blank/i);
    expect(c.html).toContain('<b>screen</b>');
  });

  it('quarantines a message it cannot make a case of, keeping the raw bytes and the reason', async () => {
    const raw = await fixture('no-sender.eml');
    const result = await fileRawMessage(app.ctx.intake, raw, { source: 'pipe' });
    expect(result).toMatchObject({ outcome: 'quarantined', error: expect.stringMatching(/no sender/) });
    const row = await app.ctx.db.selectFrom('raw_messages').selectAll().where('message_id', '=', 'no-sender@fixtures.test').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'quarantined', case_id: null });
    expect(row.raw.equals(raw)).toBe(true);
  });

  it('takes binary garbage in without crashing', async () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    const result = await fileRawMessage(app.ctx.intake, garbage, { source: 'pipe' });
    expect(['quarantined', 'case']).toContain(result.outcome);
  });

  it('finishes a message that was stored but not processed (a crash between the two)', async () => {
    const raw = Buffer.from('From: erin@mail.test\r\nTo: support@support.example.com\r\nSubject: Interrupted\r\nMessage-ID: <interrupted@fixtures.test>\r\n\r\nbody\r\n');
    const { id } = await app.ctx.db
      .insertInto('raw_messages')
      .values({ source: 'pipe', dedupe_key: 'mid:interrupted@fixtures.test', message_id: 'interrupted@fixtures.test', sha256: 'x', size: raw.length, raw, mailbox: null, uidvalidity: null, uid: null, error: null, case_id: null, processed_at: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    const counts = await recoverInterrupted(app.ctx.intake, 0);
    expect(counts.reprocessed).toBe(1);
    const row = await app.ctx.db.selectFrom('raw_messages').select(['status', 'case_id']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.status).toBe('case');
    // Running it again finds nothing left to do.
    expect((await recoverInterrupted(app.ctx.intake, 0)).reprocessed).toBe(0);
  });
});
