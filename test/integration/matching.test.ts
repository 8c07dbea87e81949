import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { matchCases } from '../../src/directory/match-case';
import { jobHandlers } from '../../src/queue/handlers';
import { getCaseByReference } from '../../src/cases/api-view';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { fileRawMessage, fileBatch } from '../../src/intake/ingest';
import { BullWorkers } from '../../src/queue/bullmq';
import { createTestApp, eventually, TEST_REDIS, type TestApp } from '../support/env';

const FIXTURES = join(__dirname, '../../fixtures');

// Each fixture is a real message; the table is the matching policy as the issue states it.
const expectations: Array<[file: string, status: string, holdReason: string | null, infrastructure: string | null, company: string | null]> = [
  ['member-permission-default.eml', 'open', null, 'acme-prod', 'acme'],
  ['member-uppercase.eml', 'open', null, 'acme-prod', 'acme'],
  ['pending-member.eml', 'open', null, 'acme-prod', 'acme'],
  ['contractor-other-domain.eml', 'open', null, 'acme-prod', 'acme'],
  ['admin-infra-address.eml', 'open', null, 'acme-dev', 'acme'],
  ['admin-other-address.eml', 'open', null, 'globex-main', 'globex'],
  ['delivered-to-route.eml', 'open', null, 'acme-dev', 'acme'],
  ['contact-without-permission.eml', 'suspended', 'not_permitted', 'acme-prod', 'acme'],
  ['x-original-to-route.eml', 'suspended', 'not_permitted', 'acme-dev', 'acme'],
  ['stranger-same-domain.eml', 'suspended', 'unknown_sender', 'acme-prod', 'acme'],
  ['stranger-infra-address.eml', 'suspended', 'unknown_sender', 'acme-dev', 'acme'],
  ['member-other-company-address.eml', 'suspended', 'unknown_sender', 'globex-main', 'globex'],
  ['cc-route.eml', 'suspended', 'unknown_sender', 'globex-main', 'globex'],
  ['domain-without-default.eml', 'suspended', 'unrouted', null, 'initech'],
  ['stranger-unknown-domain.eml', 'suspended', 'unrouted', null, null],
];

describe('matching through the match queue', () => {
  let app: TestApp;
  let workers: BullWorkers;

  beforeAll(async () => {
    app = await createTestApp();
    const directory = parseDirectoryFile(JSON.parse(await readFile(join(FIXTURES, 'directory.json'), 'utf8')));
    await importDirectory(app.ctx.db, directory, { replace: false, effects: NO_DIRECTORY_EFFECTS });
    workers = new BullWorkers(TEST_REDIS, app.ctx.config.queuePrefix, jobHandlers(app.ctx), { concurrency: { match: 4, send: 2, 'approval-reply': 1, webhook: 1 }, log: app.ctx.log });
  });

  afterAll(async () => {
    await workers.close();
    await app.close();
  });

  it.each(expectations)('%s → %s / %s on %s', async (file, status, holdReason, infrastructure, company) => {
    const raw = await readFile(join(FIXTURES, 'matching', file));
    const result = await fileRawMessage(app.ctx.intake, raw, { source: 'pipe' });
    if (result.outcome !== 'case') throw new Error(`expected a case, got ${result.outcome}`);
    const decided = await eventually(async () => {
      const c = await getCaseByReference(app.ctx.db, result.reference);
      return c && c.status !== 'new' ? c : undefined;
    }, 15000, `decision on ${result.reference}`);
    expect({ status: decided.status, holdReason: decided.holdReason, infrastructure: decided.infrastructure, company: decided.company }).toEqual({
      status,
      holdReason,
      infrastructure,
      company,
    });
    expect(decided.decidedAt).not.toBeNull();
  });

  it('decides a whole fetch of these messages in one match job, each as it decides alone', async () => {
    // A fresh Message-ID for each (the cases above hold the originals), then one batch: one
    // job whose look-ups cover every sender at once must still give each its own decision.
    const raws = await Promise.all(expectations.map(async ([file]) => Buffer.from((await readFile(join(FIXTURES, 'matching', file))).toString().replace(/^Message-ID: </m, 'Message-ID: <batch-'))));
    const { results, error } = await fileBatch(app.ctx.intake, raws.map((raw) => ({ raw, origin: { source: 'pipe' } })));
    expect(error).toBeNull();
    const references = results.map((r) => (r.outcome === 'case' ? r.reference : `not a case: ${r.outcome}`));
    const decided = await eventually(async () => {
      const cases = await Promise.all(references.map((ref) => getCaseByReference(app.ctx.db, ref)));
      return cases.every((c) => c && c.status !== 'new') ? cases : undefined;
    }, 15000, 'decisions on the batch');
    expect(decided.map((c) => [c!.status, c!.holdReason, c!.infrastructure, c!.company])).toEqual(expectations.map(([, status, holdReason, infrastructure, company]) => [status, holdReason, infrastructure, company]));
    // The job's decisions, held and opened alike, were written by one transaction (the one
    // transaction id that wrote their rows).
    const caseIds = results.map((r) => (r.outcome === 'case' ? r.caseId : '0'));
    const writers = await sql<{ id: string; status: string; writer: string }>`select id, status, xmin::text as writer from cases where id = any(${caseIds}::bigint[])`.execute(app.ctx.db);
    expect(writers.rows).toHaveLength(expectations.length);
    expect(new Set(writers.rows.map((r) => r.writer)).size).toBe(1);
    // Each opened case still has its own acknowledgement.
    const acks = await app.ctx.db.selectFrom('outbox').select('case_id').where('kind', '=', 'acknowledgement').where('case_id', 'in', caseIds).execute();
    expect(acks.map((a) => a.case_id).sort()).toEqual(writers.rows.filter((r) => r.status === 'open').map((r) => r.id).sort());
  });

  it('decides the cases one by one when deciding them together fails, and none is lost', async () => {
    const message = (tag: string) => Buffer.from(`From: carol@acme.test\r\nTo: support@support.example.com\r\nSubject: Fallback ${tag}\r\nMessage-ID: <fallback-${tag}-${Date.now()}@acme.test>\r\n\r\nStill down.\r\n`);
    // Taken in without queueing a match job: the workers must not decide these first.
    const unqueued = { ...app.ctx.intake, jobs: { enqueueMany: async () => {}, requeueMany: async () => {} } };
    const { results } = await fileBatch(unqueued, ['a', 'b', 'c'].map((tag) => ({ raw: message(tag), origin: { source: 'pipe' as const } })));
    const caseIds = results.map((r) => (r.outcome === 'case' ? r.caseId : `not a case: ${r.outcome}`));
    const calls: string[][] = [];
    const told: string[] = [];
    const outcomes = await matchCases(app.ctx.db, caseIds, {
      onTogetherFailed: (error, count) => told.push(`${count}: ${(error as Error).message}`),
      afterDecisions: async (tx, ids) => {
        calls.push(ids);
        // Written, then rolled back with the whole transaction.
        await tx.insertInto('case_events').values({ case_id: caseIds[0]!, kind: 'note', actor: 'test', detail: '{}' }).execute();
        if (ids.length > 1) throw new Error('mail could not be written');
        return new Map([[ids[0]!, []]]);
      },
    });
    expect(outcomes.map((o) => (o.result === 'decided' ? o.status : o.result))).toEqual(['open', 'open', 'open']);
    // Together first, then each alone.
    expect(calls).toEqual([caseIds, ...caseIds.map((id) => [id])]);
    expect(told).toEqual(['3: mail could not be written']);
    const events = await app.ctx.db.selectFrom('case_events').select(['case_id', 'kind']).where('case_id', 'in', caseIds).where('kind', '=', 'decided').execute();
    expect(events.map((e) => e.case_id).sort()).toEqual([...caseIds].sort());
    // The failed attempt's note was rolled back; each lone attempt's note stayed.
    const notes = await app.ctx.db.selectFrom('case_events').select('case_id').where('case_id', '=', caseIds[0]!).where('kind', '=', 'note').execute();
    expect(notes).toHaveLength(3);
  });

  it('copies each case of one job to its infrastructure\'s "CC in all cases" members, never to the requester', async () => {
    // Bob (administrator of Acme Production, CC in all cases), Carol and Erin each open a case
    // there, all three decided by one job that reads the CC list once.
    const message = (from: string, tag: string) =>
      Buffer.from(`From: ${from}\r\nTo: support@support.example.com\r\nSubject: CC ${tag}\r\nMessage-ID: <cc-${tag}-${Date.now()}@acme.test>\r\n\r\nThe dashboard is down.\r\n`);
    const senders = ['bob@acme.test', 'carol@acme.test', 'erin@mail.test'];
    const { results, error } = await fileBatch(app.ctx.intake, senders.map((from, i) => ({ raw: message(from, `sender${i}`), origin: { source: 'pipe' as const } })));
    expect(error).toBeNull();
    const caseIds = results.map((r) => (r.outcome === 'case' ? r.caseId : `not a case: ${r.outcome}`));
    await eventually(async () => (await Promise.all(results.map((r) => (r.outcome === 'case' ? getCaseByReference(app.ctx.db, r.reference) : null)))).every((c) => c?.status === 'open'), 15000, 'the three cases open');
    const copies = await app.ctx.db.selectFrom('outbox').select(['case_id', 'to_address']).where('kind', '=', 'case_copy').where('case_id', 'in', caseIds).orderBy('case_id').execute();
    expect(copies).toEqual([
      { case_id: caseIds[1], to_address: 'bob@acme.test' },
      { case_id: caseIds[2], to_address: 'bob@acme.test' },
    ]);
  });

  it('decides once: a re-run of the job for a decided case changes nothing', async () => {
    const raw = await readFile(join(FIXTURES, 'matching', 'stranger-unknown-domain.eml'));
    const again = await fileRawMessage(app.ctx.intake, Buffer.from(raw.toString().replace('stranger-unknown-domain@', 'rerun@')), { source: 'pipe' });
    if (again.outcome !== 'case') throw new Error('expected a case');
    await eventually(async () => (await getCaseByReference(app.ctx.db, again.reference))?.status === 'suspended');
    // Make the directory say something else now: a decided case must not be re-decided.
    await app.ctx.db.insertInto('company_domains').values({ company_id: (await app.ctx.db.selectFrom('companies').select('id').where('key', '=', 'globex').executeTakeFirstOrThrow()).id, domain: 'nowhere.test' }).execute();
    const outcome = await jobHandlers(app.ctx).match({ caseIds: [again.caseId] });
    expect(outcome).toEqual([{ result: 'skipped', reason: 'already_decided' }]);
    const events = await app.ctx.db.selectFrom('case_events').select(['kind', 'actor', 'detail']).where('case_id', '=', again.caseId).where('kind', '=', 'decided').execute();
    expect(events).toEqual([{ kind: 'decided', actor: 'matching', detail: { status: 'suspended', holdReason: 'unrouted', route: null } }]);
    expect((await getCaseByReference(app.ctx.db, again.reference))?.holdReason).toBe('unrouted');
  });
});
