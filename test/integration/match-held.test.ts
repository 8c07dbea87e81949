import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { lockApproval } from '../../src/approvals/repository';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { fileBatch } from '../../src/intake/ingest';
import { addAllToOutbox } from '../../src/mail/outbox';
import { jobHandlers } from '../../src/queue/handlers';
import { createTestApp, eventually, type TestApp } from '../support/env';

const FIXTURES = join(__dirname, '../../fixtures');

/**
 * A match job decides its whole fetch in one transaction, held cases too: what the per-case path
 * did for one stranger must hold for several at once (one request per stranger, the cap counted
 * in order, the fallback approvers per infrastructure).
 */
async function appWithDirectory(overrides: Record<string, string> = {}): Promise<TestApp> {
  const app = await createTestApp(overrides);
  await importDirectory(app.ctx.db, parseDirectoryFile(JSON.parse(await readFile(join(FIXTURES, 'directory.json'), 'utf8'))), { replace: false, effects: NO_DIRECTORY_EFFECTS });
  return app;
}

/** The app of the describe block it is called in, with the fixture directory, fresh for that block. */
function useApp(overrides: Record<string, string> = {}): () => TestApp {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithDirectory(overrides);
  });
  afterAll(() => app.close());
  return () => app;
}

let serial = 0;
function message(from: string, subject: string, to = 'support@support.example.com'): Buffer {
  serial += 1;
  return Buffer.from(`From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <held-${serial}-${Date.now()}@tests.case-intake.test>\r\n\r\nPlease help.\r\n`);
}

/** Takes the messages in as one fetch and runs its match job here, not on a worker. */
async function decideTogether(app: TestApp, raws: Buffer[]): Promise<string[]> {
  const unqueued = { ...app.ctx.intake, jobs: { enqueueMany: async () => {}, requeueMany: async () => {} } };
  const { results, error } = await fileBatch(unqueued, raws.map((raw) => ({ raw, origin: { source: 'pipe' as const } })));
  expect(error).toBeNull();
  const caseIds = results.map((r) => (r.outcome === 'case' ? r.caseId : `not a case: ${r.outcome}`));
  const outcomes = (await jobHandlers(app.ctx).match({ caseIds })) as Array<{ result: string }>;
  expect(outcomes.map((o) => o.result)).toEqual(caseIds.map(() => 'decided'));
  return caseIds;
}

describe('held cases decided together in one match job', () => {
  const app = useApp();

  const requestsFor = (approvalId: string) => app().ctx.db.selectFrom('outbox').select(['to_address', 'text']).where('approval_id', '=', approvalId).where('kind', '=', 'approval_request').execute();

  it("opens one request per stranger with the first case, joins the rest to it, and counts them all in the request", async () => {
    const [zed1, member, zed2, yan] = await decideTogether(app(), [
      message('Zed <zed@acme.test>', 'First'),
      message('Carol <carol@acme.test>', 'Member'),
      message('Zed <zed@acme.test>', 'Second'),
      message('Yan <yan@acme.test>', 'Development', 'acme-dev@support.example.com'),
    ]);
    const cases = await app().ctx.db.selectFrom('cases').select(['id', 'status', 'hold_reason', 'approval_id']).where('id', 'in', [zed1!, member!, zed2!, yan!]).orderBy('id').execute();
    expect(cases.map((c) => [c.status, c.hold_reason])).toEqual([
      ['suspended', 'unknown_sender'],
      ['open', null],
      ['suspended', 'unknown_sender'],
      ['suspended', 'unknown_sender'],
    ]);
    const zedApproval = cases[0]!.approval_id!;
    expect(cases[2]!.approval_id).toBe(zedApproval);
    expect(cases[3]!.approval_id).not.toBe(zedApproval);
    expect(cases[1]!.approval_id).toBeNull();

    const approvals = await app().ctx.db.selectFrom('approvals').select(['id', 'first_case_id', 'requester_email', 'mail_held']).where('requester_email', 'in', ['zed@acme.test', 'yan@acme.test']).orderBy('first_case_id').execute();
    expect(approvals).toEqual([
      { id: zedApproval, first_case_id: zed1, requester_email: 'zed@acme.test', mail_held: null },
      { id: cases[3]!.approval_id, first_case_id: yan, requester_email: 'yan@acme.test', mail_held: null },
    ]);
    // One round each: Acme Production's administrator for zed; Acme Development has none, so
    // the company's admin for yan.
    const zedMail = await requestsFor(zedApproval);
    expect(zedMail.map((m) => m.to_address)).toEqual(['bob@acme.test']);
    expect(zedMail[0]!.text).toContain('2 cases from zed@acme.test are waiting');
    const yanMail = await requestsFor(cases[3]!.approval_id!);
    expect(yanMail.map((m) => m.to_address)).toEqual(['alice@acme.test']);
    expect(yanMail[0]!.text).toContain('the waiting case opens now');

    const audit = await app().ctx.db.selectFrom('audit_log').select(['case_id', 'action']).where('case_id', 'in', [zed1!, zed2!, yan!]).orderBy('case_id').execute();
    expect(audit).toEqual([
      { case_id: zed1, action: 'approval_requested' },
      { case_id: zed2, action: 'approval_joined' },
      { case_id: yan, action: 'approval_requested' },
    ]);
    // Each requester is answered once per case: a held notice, or the member's acknowledgement.
    const answers = await app().ctx.db.selectFrom('outbox').select(['case_id', 'kind']).where('case_id', 'in', [zed1!, member!, zed2!, yan!]).where('kind', 'in', ['held_notice', 'acknowledgement']).orderBy('case_id').execute();
    expect(answers).toEqual([
      { case_id: zed1, kind: 'held_notice' },
      { case_id: member, kind: 'acknowledgement' },
      { case_id: zed2, kind: 'held_notice' },
      { case_id: yan, kind: 'held_notice' },
    ]);
  });

  it('joins a later case to the pending request without a second round of mail', async () => {
    const [zed3] = await decideTogether(app(), [message('Zed <zed@acme.test>', 'Third')]);
    const c = await app().ctx.db.selectFrom('cases').select(['approval_id']).where('id', '=', zed3!).executeTakeFirstOrThrow();
    const approval = await app().ctx.db.selectFrom('approvals').select(['id']).where('requester_email', '=', 'zed@acme.test').executeTakeFirstOrThrow();
    expect(c.approval_id).toBe(approval.id);
    expect(await requestsFor(approval.id)).toHaveLength(1);
  });
});

describe('a match job beside a decision on the same request', () => {
  const app = useApp();

  it('waits for the decision holding the request, rather than deadlock with it', async () => {
    await decideTogether(app(), [message('Vic <vic@acme.test>', 'First')]);
    const approval = await app().ctx.db.selectFrom('approvals').select('id').where('requester_email', '=', 'vic@acme.test').executeTakeFirstOrThrow();
    // A decision locks the approval's row, then answers the requester (the address's lock), as
    // decide.ts does. A job deciding vic's next case meanwhile must not hold vic's address while
    // it waits for that row: the two would deadlock, and PostgreSQL would abort one of them.
    let rowLocked!: () => void;
    const locked = new Promise<void>((resolve) => (rowLocked = resolve));
    let answer!: () => void;
    const answering = new Promise<void>((resolve) => (answer = resolve));
    const decision = app().ctx.db.transaction().execute(async (tx) => {
      // Checked for a deadlock before the job is, this side would be the one aborted.
      await sql`set local deadlock_timeout = '10ms'`.execute(tx);
      await lockApproval(tx, approval.id);
      rowLocked();
      await answering;
      const view = { reference: 'CASE-X', subject: 'Released', excerpt: '', requesterEmail: 'vic@acme.test', requesterName: null, receivedAt: '29 Nov 2026, 01:00 UTC' };
      return addAllToOutbox(tx, app().ctx.approvals.outbox, [{ kind: 'acknowledgement', to: 'vic@acme.test', props: { case: view, infrastructure: null } }]);
    });
    await locked;
    const job = decideTogether(app(), [message('Vic <vic@acme.test>', 'Second')]);
    await eventually(async () => {
      const r = await sql<{ n: string }>`select count(*) as n from pg_locks where not granted`.execute(app().ctx.db);
      return Number(r.rows[0]!.n) > 0 || undefined;
    }, 10000, 'the job to wait for the approval row');
    answer();
    expect((await decision)[0]).not.toBeNull();
    const [second] = await job;
    const c = await app().ctx.db.selectFrom('cases').select('approval_id').where('id', '=', second!).executeTakeFirstOrThrow();
    expect(c.approval_id).toBe(approval.id);
  });
});

describe('the hourly cap on approval mail, across the strangers of one job', () => {
  const app = useApp({ APPROVAL_MAIL_PER_HOUR: '1' });

  it('mails the first request and holds back the next, in the order the cases came in', async () => {
    const [first, second] = await decideTogether(app(), [message('Xia <xia@acme.test>', 'One'), message('Wes <wes@acme.test>', 'Two')]);
    const approvals = await app().ctx.db.selectFrom('approvals').select(['id', 'first_case_id', 'mail_held']).orderBy('first_case_id').execute();
    expect(approvals.map((a) => [a.first_case_id, a.mail_held])).toEqual([
      [first, null],
      [second, 'capped'],
    ]);
    const requests = await app().ctx.db.selectFrom('outbox').select(['approval_id']).where('kind', '=', 'approval_request').execute();
    expect(requests.map((r) => r.approval_id)).toEqual([approvals[0]!.id]);
  });
});
