import { queueMails, type AnyMail } from '../../src/mail/outbox';
import { createTestApp, type TestApp } from '../support/env';

/** Writing several mails of one change at once: the ids line up, and the answers ceiling still counts each. */
describe('queueMails', () => {
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
    const ids = await app.ctx.db.transaction().execute((tx) => queueMails(tx, app.ctx.approvals.outbox, mails));
    expect(ids.every((id) => id !== null)).toBe(true);
    const byId = new Map((await rowsOf(ids)).map((r) => [r.id, r]));
    expect(ids.map((id) => byId.get(id!)?.to_address)).toEqual(['ann@acme.test', 'bob@acme.test', 'carol@acme.test']);
    expect(ids.map((id) => byId.get(id!)?.kind)).toEqual(['acknowledgement', 'case_copy', 'case_copy']);
    expect(byId.get(ids[0]!)?.subject).toContain('C-1');
  });

  it('counts the answers of the same call against the ceiling, and only answers', async () => {
    // One acknowledgement to dan already within the hour; the ceiling is two.
    await app.ctx.db.transaction().execute((tx) => queueMails(tx, app.ctx.approvals.outbox, [ack('D-1', 'dan@acme.test')]));
    const mails = [ack('D-2', 'dan@acme.test'), copy('D-2', 'dan@acme.test', 'bob@acme.test'), ack('D-3', 'dan@acme.test'), ack('E-1', 'eve@acme.test')];
    const ids = await app.ctx.db.transaction().execute((tx) => queueMails(tx, app.ctx.approvals.outbox, mails));
    expect(ids.map((id) => id !== null)).toEqual([true, true, false, true]);
    const rows = await rowsOf(ids);
    expect(rows.map((r) => r.to_address).sort()).toEqual(['bob@acme.test', 'dan@acme.test', 'eve@acme.test']);
  });

  it('writes nothing when the ceiling holds every mail back', async () => {
    const ids = await app.ctx.db.transaction().execute((tx) => queueMails(tx, app.ctx.approvals.outbox, [ack('D-4', 'dan@acme.test')]));
    expect(ids).toEqual([null]);
  });
});
