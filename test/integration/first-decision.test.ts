import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { decideApproval } from '../../src/approvals/decide';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { fileRawMessage } from '../../src/intake/ingest';
import { loadOverview } from '../../src/ops/overview';
import { jobHandlers } from '../../src/queue/handlers';
import { intakeAlert } from '../../src/web/dashboard/overview-view';
import { createTestApp, type TestApp } from '../support/env';
import { makeMessage } from '../support/messages';

const HEALTHY = { status: 'ok', database: 'up', redis: 'up', mailbox: { state: 'disabled' } } as const;
const FIVE_MIN = 5 * 60_000;

describe('arrival -> decision counts intake, not the administrators (PostgreSQL, Redis)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await importDirectory(app.ctx.db, parseDirectoryFile(JSON.parse(await readFile(join(__dirname, '../../fixtures/directory.json'), 'utf8'))), { replace: false, effects: NO_DIRECTORY_EFFECTS });
  });
  afterAll(() => app.close());

  it('a case released 20 minutes after intake held it does not turn the overview red', async () => {
    const db = app.ctx.db;
    const taken = await fileRawMessage(app.ctx.intake, makeMessage({ from: 'Mallory <mallory@acme.test>', subject: 'Cannot log in', id: 'slow-admin' }), { source: 'pipe' });
    if (taken.outcome !== 'case') throw new Error(`expected a case, got ${taken.outcome}`);
    await jobHandlers(app.ctx).match({ caseIds: [taken.caseId] });
    const held = await db.selectFrom('cases').select(['status', 'approval_id']).where('id', '=', taken.caseId).executeTakeFirstOrThrow();
    expect(held.status).toBe('suspended');

    // Twenty minutes pass: every time the case, its message and its request carry moves back.
    const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = 'cases' and data_type = 'timestamp with time zone'`.execute(db);
    for (const { column_name } of columns.rows) await sql`update cases set ${sql.ref(column_name)} = ${sql.ref(column_name)} - interval '20 minutes' where id = ${taken.caseId}`.execute(db);
    await sql`update raw_messages set received_at = received_at - interval '20 minutes' where case_id = ${taken.caseId}`.execute(db);
    await sql`update approvals set created_at = created_at - interval '20 minutes' where id = ${held.approval_id}`.execute(db);

    const bob = await db.selectFrom('contacts').select('id').where('email', '=', 'bob@acme.test').executeTakeFirstOrThrow();
    expect(await decideApproval(app.ctx.approvals, { approvalId: held.approval_id!, decision: 'authorize', channel: 'link', actor: 'bob@acme.test', approverContactId: bob.id })).toMatchObject({ result: 'decided' });
    const released = await db.selectFrom('cases').select(['status', sql<number>`extract(epoch from now() - decided_at)::float8`.as('since')]).where('id', '=', taken.caseId).executeTakeFirstOrThrow();
    // The case's latest decision is the release, as the API's decidedAt says.
    expect(released.status).toBe('open');
    expect(released.since).toBeLessThan(60);

    const overview = await loadOverview(db);
    expect(overview.intake.lagLastHour.decided).toBe(1);
    expect(overview.intake.lagLastHour.p95Seconds).toBeLessThan(60);
    const alert = intakeAlert(HEALTHY, overview, FIVE_MIN, new Date());
    expect(alert.reasons).toEqual([]);
    expect(alert.red).toBe(false);
  });
});
