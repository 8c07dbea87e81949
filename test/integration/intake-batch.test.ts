import { sql } from 'kysely';
import { fileRawMessage, fileBatch, type BatchItem } from '../../src/intake/ingest';
import { caseReplyAddress } from '../../src/cases/reply-address';
import { createTestApp, type TestApp } from '../support/env';

function mail(id: string, headers: Record<string, string> = {}, from = 'bob@acme.test'): Buffer {
  const lines = [`From: Bob <${from}>`, 'To: support@vendor.test', `Subject: batch ${id}`, `Message-ID: <${id}@batch.test>`, 'Date: Mon, 23 Nov 2026 09:00:00 +0000'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\nBody of ${id}\r\n`);
}

/**
 * The watcher's batch path must give every message the outcome the one-message path gives it:
 * same cases, same duplicates, same kept mail, same threads, and a failure in the batch must not
 * lose or double anything.
 */
describe('fileBatch (one fetch of messages in a few statements)', () => {
  let app: TestApp;
  let uid = 1;
  const items = (raws: Buffer[]): BatchItem[] => raws.map((raw) => ({ raw, origin: { source: 'imap', mailbox: 'batch', uidvalidity: '1', uid: uid++ } }));
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('gives each message of a mixed fetch its own outcome, in order, and queues one match per new case', async () => {
    const first = await fileRawMessage(app.ctx.intake, mail('root'), { source: 'pipe' });
    if (first.outcome !== 'case') throw new Error(first.outcome);
    const raws = [
      mail('a1'),
      mail('ooo', { 'Auto-Submitted': 'auto-replied' }, 'robot@acme.test'),
      mail('reply', { 'In-Reply-To': '<root@batch.test>' }),
      mail('a2', { Cc: 'carol@acme.test' }),
      mail('a1'), // the same message twice in one fetch
      mail('root'), // already stored by the one-message path
      mail('a3'),
    ];
    const { results, error } = await fileBatch(app.ctx.intake, items(raws));
    expect(error).toBeNull();
    expect(results.map((r) => r.outcome)).toEqual(['case', 'kept', 'reply', 'case', 'duplicate', 'duplicate', 'case']);
    const reply = results[2]!;
    expect(reply.outcome === 'reply' && reply.caseId).toBe(first.caseId);

    const cases = await app.ctx.db.selectFrom('cases').select(['id', 'subject', 'reference']).where('subject', 'in', ['batch a1', 'batch a2', 'batch a3']).orderBy('id').execute();
    expect(cases.map((c) => c.subject)).toEqual(['batch a1', 'batch a2', 'batch a3']);
    for (const [i, c] of cases.entries()) {
      const r = results[[0, 3, 6][i]!]!;
      expect(r).toMatchObject({ outcome: 'case', caseId: c.id, reference: c.reference });
      // Each case holds its own message, raw copy claimed for it, and its created event.
      const m = await app.ctx.db.selectFrom('messages as m').innerJoin('raw_messages as r', 'r.id', 'm.raw_message_id').select(['m.subject', 'r.status', 'r.case_id']).where('m.case_id', '=', c.id).execute();
      expect(m).toEqual([{ subject: c.subject, status: 'case', case_id: c.id }]);
      const events = await app.ctx.db.selectFrom('case_events').select('kind').where('case_id', '=', c.id).execute();
      expect(events.map((e) => e.kind)).toEqual(['created']);
    }
    const participants = await app.ctx.db.selectFrom('case_participants').select('email').where('case_id', '=', cases[1]!.id).execute();
    expect(participants).toEqual([{ email: 'carol@acme.test' }]);
    const jobs = await app.ctx.jobs.boardQueues().find((q) => q.name === 'match')!.getJobs(['waiting', 'active', 'completed', 'delayed']);
    // One match job for the batch's new cases.
    expect(jobs.filter((j) => (j.data as { caseIds: string[] }).caseIds.includes(cases[0]!.id)).map((j) => j.data)).toEqual([{ caseIds: cases.map((c) => c.id) }]);
  });

  it('finds each reply its case by the rules of the one-message path, and one reply does not lend its clue to another', async () => {
    const root = await fileRawMessage(app.ctx.intake, mail('t-root', { Cc: 'carol@acme.test' }), { source: 'pipe' });
    if (root.outcome !== 'case') throw new Error(root.outcome);
    const address = caseReplyAddress(root.caseId, app.ctx.intake.replySecrets[0]!, app.ctx.intake.supportAddress);
    const tagged = (id: string, from: string) => Buffer.from(mail(id, {}, from).toString().replace(`Subject: batch ${id}`, `Subject: Re: [${root.reference}] ${id}`));
    const raws = [
      mail('t-by-id', { References: '<elsewhere@batch.test> <t-root@batch.test>' }),
      mail('t-plain'),
      Buffer.from(mail('t-by-address').toString().replace('To: support@vendor.test', `To: ${address}`)),
      tagged('t-tag-requester', 'bob@acme.test'),
      tagged('t-tag-participant', 'carol@acme.test'),
      tagged('t-tag-stranger', 'mallory@evil.test'),
      mail('t-unknown', { 'In-Reply-To': '<nowhere@batch.test>' }),
    ];
    const { results, error } = await fileBatch(app.ctx.intake, items(raws));
    expect(error).toBeNull();
    expect(results.map((r) => r.outcome)).toEqual(['reply', 'case', 'reply', 'reply', 'reply', 'case', 'case']);
    expect(results.map((r) => (r.outcome === 'reply' ? r.via : r.outcome === 'case' && r.caseId !== root.caseId ? 'new' : 'wrong'))).toEqual(['message_id', 'new', 'reply_address', 'subject_tag', 'subject_tag', 'new', 'new']);
    for (const r of results) if (r.outcome === 'reply') expect(r.caseId).toBe(root.caseId);
  });

  it('stores a fetch of several large messages, each whole and in order', async () => {
    // Three 3 MB messages: over the per-statement byte limit together (MAX_STATEMENT_BYTES).
    const big = (id: string) => Buffer.concat([mail(id).subarray(0, -2), Buffer.alloc(3_000_000, 'x'), Buffer.from('\r\n')]);
    const raws = [big('e1'), mail('e2'), big('e3'), big('e4')];
    const { results, error } = await fileBatch(app.ctx.intake, items(raws));
    expect(error).toBeNull();
    expect(results.map((r) => r.outcome)).toEqual(['case', 'case', 'case', 'case']);
    for (const [i, r] of results.entries()) {
      const row = await app.ctx.db.selectFrom('raw_messages').select('raw').where('id', '=', (r as { rawId: string }).rawId).executeTakeFirstOrThrow();
      expect(row.raw.equals(raws[i]!)).toBe(true);
    }
  });

  it('quarantines the one message the database refuses and still makes cases of the rest, each once', async () => {
    // The database refuses one message's content (as it would a value out of range): the batch's
    // transaction fails, and each message goes the one-message way.
    await sql`create function refuse_poison() returns trigger language plpgsql as $$
      begin if new.subject = 'batch poison' then raise exception 'refused' using errcode = '22023'; end if; return new; end $$`.execute(app.ctx.db);
    await sql`create trigger refuse_poison before insert on cases for each row execute function refuse_poison()`.execute(app.ctx.db);
    try {
      const { results, error } = await fileBatch(app.ctx.intake, items([mail('c1'), mail('poison'), mail('c3')]));
      expect(error).toBeNull();
      expect(results.map((r) => r.outcome)).toEqual(['case', 'quarantined', 'case']);
      const again = await fileBatch(app.ctx.intake, items([mail('c1'), mail('poison'), mail('c3')]));
      expect(again.results.map((r) => r.outcome)).toEqual(['duplicate', 'duplicate', 'duplicate']);
      const n = await app.ctx.db.selectFrom('cases').select((eb) => eb.fn.countAll<string>().as('n')).where('subject', 'in', ['batch c1', 'batch c3']).executeTakeFirstOrThrow();
      expect(n.n).toBe('2');
      const poison = await app.ctx.db.selectFrom('raw_messages').select(['status', 'error']).where('message_id', '=', 'poison@batch.test').executeTakeFirstOrThrow();
      expect(poison.status).toBe('quarantined');
      expect(poison.error).toContain('refused');
    } finally {
      await sql`drop trigger refuse_poison on cases`.execute(app.ctx.db);
    }
  });

  it('reports the messages stored before one that cannot be stored, so only those are acknowledged', async () => {
    await sql`create function refuse_raw() returns trigger language plpgsql as $$
      begin if new.message_id = 'unstorable@batch.test' then raise exception 'disk full'; end if; return new; end $$`.execute(app.ctx.db);
    await sql`create trigger refuse_raw before insert on raw_messages for each row execute function refuse_raw()`.execute(app.ctx.db);
    try {
      const { results, error } = await fileBatch(app.ctx.intake, items([mail('d1'), mail('d2'), mail('unstorable'), mail('d4')]));
      expect(results.map((r) => r.outcome)).toEqual(['case', 'case']);
      expect(String(error)).toContain('disk full');
      const stored = await app.ctx.db.selectFrom('raw_messages').select('message_id').where('message_id', 'in', ['d1@batch.test', 'd2@batch.test', 'd4@batch.test']).orderBy('id').execute();
      expect(stored.map((r) => r.message_id)).toEqual(['d1@batch.test', 'd2@batch.test']);
    } finally {
      await sql`drop trigger refuse_raw on raw_messages`.execute(app.ctx.db);
    }
  });
});
