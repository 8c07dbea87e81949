import { sql } from 'kysely';
import type { Tx } from '../../src/db/connection';
import { addAllToOutbox, type AnyMail } from '../../src/mail/outbox';
import { createTestApp, eventually, type TestApp } from '../support/env';

/** Writing several mails of one change at once: the ids line up, and the answers ceiling still counts each. */
describe('addAllToOutbox', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ AUTO_REPLY_PER_SENDER_PER_HOUR: '2' });
  });
  afterAll(() => app.close());

  const view = (reference: string, requesterEmail: string) => ({ reference, subject: `Subject of ${reference}`, excerpt: 'It broke.', requesterEmail, requesterName: null, receivedAt: '28 Nov 2026, 23:00 UTC' });
  const infrastructure = { key: 'prod', name: 'Production', companyName: 'Acme' };
  const ack = (reference: string, to: string): AnyMail => ({ kind: 'acknowledgement', to, props: { case: view(reference, to), infrastructure } });
  const copy = (reference: string, requester: string, to: string): AnyMail => ({ kind: 'case_copy', to, props: { case: view(reference, requester), infrastructure, recipient: { name: null, email: to } } });
  const rowsOf = (ids: Array<string | null>) =>
    app.ctx.db
      .selectFrom('outbox')
      .select(['id', 'kind', 'to_address', 'subject'])
      .where('id', 'in', ids.filter((id): id is string => id !== null))
      .execute();

  it('writes each mail as its own row and returns the ids in the order given', async () => {
    const mails = [ack('C-1', 'ann@acme.test'), copy('C-1', 'ann@acme.test', 'bob@acme.test'), copy('C-1', 'ann@acme.test', 'carol@acme.test')];
    const ids = await app.ctx.db.transaction().execute((tx) => addAllToOutbox(tx, app.ctx.approvals.outbox, mails));
    expect(ids.every((id) => id !== null)).toBe(true);
    const byId = new Map((await rowsOf(ids)).map((r) => [r.id, r]));
    expect(ids.map((id) => byId.get(id!)?.to_address)).toEqual(['ann@acme.test', 'bob@acme.test', 'carol@acme.test']);
    expect(ids.map((id) => byId.get(id!)?.kind)).toEqual(['acknowledgement', 'case_copy', 'case_copy']);
    expect(byId.get(ids[0]!)?.subject).toContain('C-1');
  });

  it('counts the answers of the same call against the ceiling, and only answers', async () => {
    // One acknowledgement to dan already within the hour; the ceiling is two.
    await app.ctx.db.transaction().execute((tx) => addAllToOutbox(tx, app.ctx.approvals.outbox, [ack('D-1', 'dan@acme.test')]));
    const mails = [ack('D-2', 'dan@acme.test'), copy('D-2', 'dan@acme.test', 'bob@acme.test'), ack('D-3', 'dan@acme.test'), ack('E-1', 'eve@acme.test')];
    const ids = await app.ctx.db.transaction().execute((tx) => addAllToOutbox(tx, app.ctx.approvals.outbox, mails));
    expect(ids.map((id) => id !== null)).toEqual([true, true, false, true]);
    const rows = await rowsOf(ids);
    expect(rows.map((r) => r.to_address).sort()).toEqual(['bob@acme.test', 'dan@acme.test', 'eve@acme.test']);
  });

  it('writes nothing when the ceiling holds every mail back', async () => {
    const ids = await app.ctx.db.transaction().execute((tx) => addAllToOutbox(tx, app.ctx.approvals.outbox, [ack('D-4', 'dan@acme.test')]));
    expect(ids).toEqual([null]);
  });

  /** A transaction that has queued `mails` and stays open (holding its locks) until `commit` is called. */
  const openTransaction = async (mails: AnyMail[]) => {
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let queued!: (ids: Array<string | null>) => void;
    const ids = new Promise<Array<string | null>>((resolve) => (queued = resolve));
    const done = app.ctx.db.transaction().execute(async (tx) => {
      queued(await addAllToOutbox(tx, app.ctx.approvals.outbox, mails));
      await committed;
    });
    return { ids: await ids, commit: async () => (commit(), done) };
  };
  const waitingForAdvisoryLocks = async (n: number) =>
    eventually(async () => {
      const r = await sql<{ n: string }>`select count(*) as n from pg_locks where locktype = 'advisory' and not granted`.execute(app.ctx.db);
      return Number(r.rows[0]!.n) === n || undefined;
    }, 10000, `${n} transactions waiting for an address lock`);

  it('lets concurrent transactions answering one address count one another, so the ceiling holds', async () => {
    const first = await openTransaction([ack('F-1', 'fay@acme.test')]);
    // Two more answers to fay while the first is uncommitted: each must wait for it and count it.
    const queue = (reference: string) => app.ctx.db.transaction().execute((tx) => addAllToOutbox(tx, app.ctx.approvals.outbox, [ack(reference, 'fay@acme.test')]));
    const later = [queue('F-2'), queue('F-3')];
    await waitingForAdvisoryLocks(2);
    await first.commit();
    const admitted = (await Promise.all(later)).map(([id]) => id !== null);
    // The ceiling is two: the first, and exactly one of the two that waited.
    expect(first.ids[0]).not.toBeNull();
    expect(admitted.filter(Boolean)).toHaveLength(1);
  });

  it('takes the address locks of many answers in sorted order, holding none while it waits for one', async () => {
    // gus's address is held. A call answering hal and gus (in that order) must wait for gus
    // before it takes hal: had it locked in the order given, it would hold hal meanwhile, and two
    // such calls answering overlapping addresses in opposite orders could deadlock.
    const holder = await openTransaction([ack('G-1', 'gus@acme.test')]);
    const both = app.ctx.db.transaction().execute((tx) => addAllToOutbox(tx, app.ctx.approvals.outbox, [ack('H-1', 'hal@acme.test'), ack('G-2', 'gus@acme.test')]));
    await waitingForAdvisoryLocks(1);
    // hal is free: a lock wait here means the call above holds it.
    const hal = await app.ctx.db.transaction().execute(async (tx: Tx) => {
      await sql`set local lock_timeout = '2s'`.execute(tx);
      return addAllToOutbox(tx, app.ctx.approvals.outbox, [ack('H-2', 'hal@acme.test')]);
    });
    expect(hal[0]).not.toBeNull();
    await holder.commit();
    expect((await both).every((id) => id !== null)).toBe(true);
  });
});

