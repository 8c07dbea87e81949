import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { jobHandlers } from '../../src/queue/handlers';
import { decideApproval } from '../../src/approvals/decide';
import { loadAttachment, loadCaseDetail, loadMessageHtml } from '../../src/cases/detail';
import { listFilterOptions, searchCases, type CaseSearchFilter } from '../../src/cases/search';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { loadDirectory } from '../../src/directory/listing';
import { fileRawMessage } from '../../src/intake/ingest';
import { loadOverview, type Overview } from '../../src/ops/overview';
import { createTestApp, type TestApp } from '../support/env';

const FIXTURES = join(__dirname, '../../fixtures');
const HOUR = 3600_000;
const NOTES = Buffer.from('disk usage: 97%\n');

type Mail = { from: string; subject: string; id: string; to?: string; cc?: string; inReplyTo?: string; extraHeaders?: string[]; html?: string; attachment?: Buffer };

/** A small RFC 5322 message; multipart when it has HTML or an attachment. */
function mail(m: Mail): Buffer {
  const head = [`From: ${m.from}`, `To: ${m.to ?? 'support@support.example.com'}`, ...(m.cc ? [`Cc: ${m.cc}`] : []), `Subject: ${m.subject}`, `Date: ${new Date().toUTCString()}`, `Message-ID: <${m.id}@dash.test>`, ...(m.inReplyTo ? [`In-Reply-To: <${m.inReplyTo}@dash.test>`] : []), ...(m.extraHeaders ?? []), 'MIME-Version: 1.0'];
  const text = `Body of ${m.id}`;
  if (!m.html && !m.attachment) return Buffer.from([...head, 'Content-Type: text/plain; charset=utf-8', '', text, ''].join('\r\n'));
  const parts = [['Content-Type: text/plain; charset=utf-8', '', text]];
  if (m.html) parts.push(['Content-Type: text/html; charset=utf-8', '', m.html]);
  if (m.attachment) parts.push(['Content-Type: text/plain; name="notes.txt"', 'Content-Disposition: attachment; filename="notes.txt"', 'Content-Transfer-Encoding: base64', '', m.attachment.toString('base64')]);
  const body = parts.flatMap((p) => ['--b0undary', ...p]);
  return Buffer.from([...head, 'Content-Type: multipart/mixed; boundary="b0undary"', '', ...body, '--b0undary--', ''].join('\r\n'));
}

describe('dashboard queries', () => {
  let app: TestApp;
  /** The instant the overview is measured against; every timestamp below is set relative to it. */
  let ref: Date;
  const refs: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const db = () => app.ctx.db;
  const at = (msAgo: number) => new Date(ref.getTime() - msAgo);
  const intake = async (name: string, raw: Buffer, match = true) => {
    const r = await fileRawMessage(app.ctx.intake, raw, { source: 'pipe' });
    if (r.outcome !== 'case') throw new Error(`${name}: expected a case, got ${r.outcome}`);
    if (match) await jobHandlers(app.ctx).match({ caseIds: [r.caseId] });
    refs[name] = r.reference;
    ids[name] = r.caseId;
  };
  const approvalOf = async (name: string) => (await db().selectFrom('cases').select('approval_id').where('id', '=', ids[name]!).executeTakeFirstOrThrow()).approval_id!;
  const firstRawOf = async (name: string) => (await db().selectFrom('messages').select('raw_message_id').where('case_id', '=', ids[name]!).orderBy('id').limit(1).executeTakeFirstOrThrow()).raw_message_id;

  beforeAll(async () => {
    app = await createTestApp();
    const file = parseDirectoryFile(JSON.parse(await readFile(join(FIXTURES, 'directory.json'), 'utf8')));
    await importDirectory(app.ctx.db, file, { replace: false, effects: NO_DIRECTORY_EFFECTS });

    // A: bob, open, HTML + attachment, a Cc participant, then a reply. B, C: a stranger, authorized.
    await intake('A', mail({ from: 'Bob Builder <bob@acme.test>', to: 'acme-prod@support.example.com', cc: 'zoe@partner.test', subject: 'Disk full', id: 'a', html: '<p>Disk <b>full</b></p>', attachment: NOTES }));
    const reply = await fileRawMessage(app.ctx.intake, mail({ from: 'bob@acme.test', subject: 'Re: Disk full', id: 'a-reply', inReplyTo: 'a' }), { source: 'pipe' });
    expect(reply.outcome).toBe('reply');
    await intake('B', mail({ from: 'Mallory <mallory@acme.test>', subject: 'Cannot log in', id: 'b' }));
    await intake('C', mail({ from: 'mallory@acme.test', subject: 'Also the VPN', id: 'c' }));
    await intake('D', mail({ from: 'dave@acme.test', subject: 'Quota at 100% on disk_a', id: 'd' }));
    await intake('E', mail({ from: 'nobody@nowhere.test', subject: 'Quota at 1000 GB on diskXa', id: 'e' }));
    await intake('F', mail({ from: 'frank@nowhere.test', subject: 'Waiting for matching', id: 'f' }), false);
    await intake('G', mail({ from: 'trent@globex.test', to: 'globex@support.example.com', subject: 'Spam?', id: 'g' }));
    await intake('H', mail({ from: 'Oscar Stranger <oscar@acme.test>', subject: 'Printer', id: 'h' }));

    const bob = await db().selectFrom('contacts').select('id').where('email', '=', 'bob@acme.test').executeTakeFirstOrThrow();
    expect(await decideApproval(app.ctx.approvals, { approvalId: await approvalOf('B'), decision: 'authorize', channel: 'link', actor: 'bob@acme.test', approverContactId: bob.id })).toMatchObject({ result: 'decided' });
    expect(await decideApproval(app.ctx.approvals, { approvalId: await approvalOf('G'), decision: 'ignore', channel: 'staff', actor: 'staff:ops@vendor.test', approverContactId: null })).toMatchObject({ result: 'decided' });

    // Not cases: one quarantined, two kept auto-replies (one of them 30 h old, below).
    expect((await fileRawMessage(app.ctx.intake, await readFile(join(FIXTURES, 'intake/no-sender.eml')), { source: 'pipe' })).outcome).toBe('quarantined');
    for (const id of ['ooo-1', 'ooo-2']) {
      const kept = await fileRawMessage(app.ctx.intake, mail({ from: 'alice@acme.test', subject: 'Out of office', id, extraHeaders: ['Auto-Submitted: auto-replied'] }), { source: 'pipe' });
      expect(kept.outcome).toBe('kept');
    }

    ref = (await sql<{ now: Date }>`select now() as now`.execute(db())).rows[0]!.now;
    await backdate();
  });

  afterAll(() => app.close());
  /** Pins every timestamp the overview reads to a known distance from `ref`. */
  async function backdate() {
    const hourStart = (await sql<{ h: Date }>`select date_trunc('hour', ${ref}::timestamptz) as h`.execute(db())).rows[0]!.h;
    await db().updateTable('cases').set({ created_at: hourStart }).execute();
    await db().updateTable('cases').set({ created_at: at(3 * HOUR) }).where('id', 'in', [ids.B!, ids.E!]).execute();
    await db().updateTable('cases').set({ created_at: at(25 * HOUR) }).where('id', '=', ids.G!).execute();

    // Decided in the last hour with lags of 10, 20, 30 and 40 s; the rest decided 2 h ago.
    await db().updateTable('cases').set({ decided_at: at(2 * HOUR), first_decided_at: at(2 * HOUR) }).where('decided_at', 'is not', null).execute();
    await db().updateTable('raw_messages').set({ received_at: at(2 * HOUR + 1000_000) }).where('id', '=', await firstRawOf('G')).execute();
    const lags: Array<[string, number]> = [['A', 40], ['D', 10], ['E', 20], ['H', 30]];
    for (const [name, seconds] of lags) {
      await db().updateTable('cases').set({ decided_at: at(600_000), first_decided_at: at(600_000) }).where('id', '=', ids[name]!).execute();
      await db().updateTable('raw_messages').set({ received_at: at(600_000 + seconds * 1000) }).where('id', '=', await firstRawOf(name)).execute();
    }
    // A's reply arrived after the decision: counting it instead of the first message would skew the lag.
    const replyMoved = await db().updateTable('raw_messages').set({ received_at: at(540_000) }).where('message_id', '=', 'a-reply@dash.test').executeTakeFirst();
    expect(replyMoved.numUpdatedRows).toBe(1n);
    const keptMoved = await db().updateTable('raw_messages').set({ received_at: at(30 * HOUR) }).where('message_id', '=', 'ooo-1@dash.test').executeTakeFirst();
    expect(keptMoved.numUpdatedRows).toBe(1n);
    // D expires in an hour (within the next 24 h), H in three days.
    for (const [name, msAgo, expiresIn] of [['D', 2 * HOUR, HOUR], ['H', HOUR / 2, 72 * HOUR]] as const) {
      await db().updateTable('approvals').set({ created_at: at(msAgo), expires_at: at(-expiresIn) }).where('id', '=', await approvalOf(name)).execute();
    }

    // The backlog: stored, never processed. The newest of them is the last message seen.
    for (const [n, msAgo] of [[1, 9000], [2, 5000]] as const) {
      await db().insertInto('raw_messages').values({ source: 'pipe', dedupe_key: `backlog-${n}`, message_id: null, sha256: 'x', size: 1, raw: Buffer.from('x'), error: null, case_id: null, processed_at: null, received_at: at(msAgo) }).execute();
    }

    await db().updateTable('outbox').set({ status: 'sent' }).execute();
    const outbox = (status: 'pending' | 'failed' | 'bounced', n: number) => ({ kind: 'test', to_address: 'x@acme.test', subject: 's', text: 't', html: 'h', message_id: `${status}-${n}@dash.test`, case_id: null, approval_id: null, company_id: null, in_reply_to: null, references: null, reply_to: null, sent_at: null, status });
    await db().insertInto('outbox').values([outbox('pending', 1), outbox('pending', 2), outbox('pending', 3), outbox('failed', 1), outbox('failed', 2), outbox('bounced', 1)]).execute();
  }

  describe('loadOverview', () => {
    let o: Overview;
    beforeAll(async () => {
      o = await loadOverview(db(), ref);
    });

    it('counts cases by status, and suspended ones by hold reason', () => {
      expect(o.asOf).toBe(ref.toISOString());
      // G is ignored but keeps its unknown_sender reason: only suspended cases count by reason.
      const suspendedByHoldReason = { unknown_sender: 1, not_permitted: 1, unrouted: 1, rate_limited: 0, sender_not_verified: 0, too_large: 0 };
      expect(o.cases).toEqual({ byStatus: { new: 1, open: 3, pending: 0, solved: 0, closed: 0, suspended: 3, ignored: 1 }, suspendedByHoldReason, total: 8 });
    });

    it('buckets the last 24 hours by the hour, oldest first, empty hours included', async () => {
      const hourStart = (await sql<{ h: Date }>`select date_trunc('hour', ${ref}::timestamptz) as h`.execute(db())).rows[0]!.h;
      expect(o.last24h.map((b) => Date.parse(b.hourStart))).toEqual(Array.from({ length: 24 }, (_, i) => hourStart.getTime() - (23 - i) * HOUR));
      const counts = o.last24h.map(({ hourStart: _h, ...rest }) => rest);
      // This hour: A, C (open), D, H (suspended), F (new). Three hours back: B (open), E (suspended). G (25 h) is outside.
      expect(counts[23]).toEqual({ open: 2, suspended: 2, ignored: 0, new: 1, total: 5 });
      expect(counts[20]).toEqual({ open: 1, suspended: 1, ignored: 0, new: 0, total: 2 });
      expect(counts.filter((_, i) => i !== 20 && i !== 23)).toEqual(Array(22).fill({ open: 0, suspended: 0, ignored: 0, new: 0, total: 0 }));
    });

    it('reports pending approvals with the oldest one’s age and those expiring within 24 hours', () => {
      expect(o.approvals).toEqual({ pending: 2, oldestCreatedAt: at(2 * HOUR).toISOString(), oldestAgeSeconds: 7200, expiringWithin24h: 1, nextExpiresAt: at(-HOUR).toISOString() });
    });

    it('reports the intake backlog, last message, quarantine, kept mail and the decision lag', () => {
      const lagLastHour = { decided: 4, p50Seconds: expect.closeTo(25, 6), p95Seconds: expect.closeTo(38.5, 6) };
      expect(o.intake).toEqual({ backlog: 2, lastReceivedAt: at(5000).toISOString(), quarantined: 1, keptLast24h: 1, lagLastHour });
    });

    it('counts the outbox by status', () => {
      expect(o.outbox).toEqual({ pending: 3, failed: 2, bounced: 1 });
    });

    it('has no lag percentiles when nothing was decided in the hour, and measures against the database clock by default', async () => {
      const later = await loadOverview(db(), new Date(ref.getTime() + 2 * HOUR));
      expect(later.intake.lagLastHour).toEqual({ decided: 0, p50Seconds: null, p95Seconds: null });
      expect(later.approvals.oldestAgeSeconds).toBe(4 * 3600);
      const live = await loadOverview(db());
      expect(Date.parse(live.asOf)).toBeGreaterThanOrEqual(ref.getTime());
      expect(live.cases.total).toBe(8);
    });
  });

  describe('searchCases', () => {
    const search = async (filter: CaseSearchFilter) => (await searchCases(db(), filter)).rows.map((r) => r.reference);
    const byName = (...names: string[]) => names.map((n) => refs[n]);

    it('lists every case newest first with the documented fields', async () => {
      const all = await searchCases(db(), {});
      expect(all).toMatchObject({ total: 8, page: 1, pages: 1, size: 50 });
      expect(all.rows.map((r) => r.reference)).toEqual(byName('H', 'G', 'F', 'E', 'D', 'C', 'B', 'A'));
      expect(all.rows.find((r) => r.reference === refs.A)).toEqual({ reference: refs.A, status: 'open', holdReason: null, subject: 'Disk full', requesterEmail: 'bob@acme.test', requesterName: 'Bob Builder',
        companyKey: 'acme', companyName: 'Acme Corporation', infrastructureKey: 'acme-prod', infrastructureName: 'Acme Production', createdAt: expect.any(String), decidedAt: at(600_000).toISOString(), messageCount: 2,
        assigneeEmail: null, escalatedAt: null, urgent: false, latestEventId: expect.stringMatching(/^\d+$/), unseen: false });
    });

    it('narrows by each filter', async () => {
      expect(await search({ status: 'suspended' })).toEqual(byName('H', 'E', 'D'));
      // An ignored case keeps the reason it was held for.
      expect(await search({ holdReason: 'unknown_sender' })).toEqual(byName('H', 'G'));
      expect(await search({ holdReason: 'unknown_sender', status: 'suspended' })).toEqual(byName('H'));
      expect(await search({ companyKey: 'globex' })).toEqual(byName('G'));
      expect(await search({ infrastructureKey: 'acme-prod' })).toEqual(byName('H', 'D', 'C', 'B', 'A'));
      expect(await search({ infrastructureKey: 'acme-prod', status: 'suspended' })).toEqual(byName('H', 'D'));
      expect(await search({ requester: ' MALLORY@Acme.Test ' })).toEqual(byName('C', 'B'));
      expect(await search({ requester: 'mallory' })).toEqual([]);
      expect(await search({ companyKey: 'no-such-company' })).toEqual([]);
    });

    it('searches subject, requester address and name, any case', async () => {
      expect(await search({ q: 'QUOTA' })).toEqual(byName('E', 'D'));
      expect(await search({ q: 'stranger' })).toEqual(byName('H'));
      expect(await search({ q: 'nowhere.test' })).toEqual(byName('F', 'E'));
      expect(await search({ q: '   ' })).toHaveLength(8);
    });

    it('takes % and _ in q literally', async () => {
      expect(await search({ q: '100%' })).toEqual(byName('D'));
      expect(await search({ q: 'disk_a' })).toEqual(byName('D'));
      expect(await search({ q: '%' })).toEqual(byName('D'));
      expect(await search({ q: '_' })).toEqual(byName('D'));
      expect(await search({ q: '\\' })).toEqual([]);
    });

    it('pages with totals, clamping the page number', async () => {
      const page = (n: number) => searchCases(db(), {}, { page: n, size: 3 });
      expect(await page(1)).toMatchObject({ total: 8, page: 1, pages: 3 });
      expect((await page(2)).rows.map((r) => r.reference)).toEqual(byName('E', 'D', 'C'));
      const last = await page(3);
      expect(last.rows.map((r) => r.reference)).toEqual(byName('B', 'A'));
      expect(await page(0)).toMatchObject({ page: 1 });
      expect(await page(99)).toMatchObject({ page: 3, rows: last.rows });
      expect(await searchCases(db(), { status: 'ignored' }, { page: 1, size: 3 })).toMatchObject({ total: 1, pages: 1 });
      expect(await searchCases(db(), { q: 'nothing like this' })).toEqual({ rows: [], total: 0, page: 1, pages: 1, size: 50 });
    });

    it('offers companies and infrastructures for the filters', async () => {
      const options = await listFilterOptions(db());
      expect(options.companies).toEqual([{ key: 'acme', name: 'Acme Corporation' }, { key: 'globex', name: 'Globex' }, { key: 'initech', name: 'Initech' }]);
      expect(options.infrastructures.map((i) => i.key)).toEqual(['acme-dev', 'acme-prod', 'globex-main', 'initech-a', 'initech-b']);
      expect(options.infrastructures[0]).toEqual({ key: 'acme-dev', name: 'Acme Development', companyKey: 'acme', companyName: 'Acme Corporation' });
    });
  });

  describe('loadCaseDetail', () => {
    it('returns undefined for an unknown reference', async () => {
      expect(await loadCaseDetail(db(), 'CASE-999999')).toBeUndefined();
      expect(await loadCaseDetail(db(), 'nonsense')).toBeUndefined();
    });

    it('returns the case and its whole thread, oldest first, without HTML or attachment bytes', async () => {
      const d = (await loadCaseDetail(db(), refs.A!.toLowerCase()))!;
      expect(d).toMatchObject({ reference: refs.A, status: 'open', companyKey: 'acme', companyName: 'Acme Corporation', infrastructureKey: 'acme-prod', infrastructureName: 'Acme Production', requesterName: 'Bob Builder', senderVerified: null, intakeHold: null, approval: null, route: expect.any(String) });
      expect(d.messages.map((m) => [m.subject, m.hasHtml, m.attachments.length])).toEqual([['Disk full', true, 1], ['Re: Disk full', false, 0]]);
      expect(d.messages[0]).toMatchObject({ from: 'bob@acme.test', name: 'Bob Builder', recipients: ['acme-prod@support.example.com', 'zoe@partner.test'], text: expect.stringContaining('Body of a') });
      expect(d.messages[0]).not.toHaveProperty('html');
      const [attachment] = d.messages[0]!.attachments;
      expect(attachment).toEqual({ id: expect.stringMatching(/^\d+$/), filename: 'notes.txt', contentType: 'text/plain', size: NOTES.length, sha256: createHash('sha256').update(NOTES).digest('hex') });
      expect(d.participants).toEqual([{ email: 'zoe@partner.test', addedAt: expect.any(String) }]);
      expect(await loadMessageHtml(db(), d.messages[0]!.id)).toContain('Disk <b>full</b>');
      expect(await loadMessageHtml(db(), d.messages[1]!.id)).toBeUndefined();
      expect(await loadAttachment(db(), attachment!.id)).toEqual({ filename: 'notes.txt', contentType: 'text/plain', size: NOTES.length, content: NOTES });
    });

    it('rejects ids that are not bigints without asking the database', async () => {
      for (const id of ['abc', '-1', '0', '1.5', '99999999999999999999', '']) {
        expect(await loadMessageHtml(db(), id)).toBeUndefined();
        expect(await loadAttachment(db(), id)).toBeUndefined();
      }
      expect(await loadAttachment(db(), '987654321')).toBeUndefined();
    });

    it('merges case events and audit rows into one trail, oldest first', async () => {
      const t0 = new Date('2026-01-05T10:00:00.000Z');
      const plus = (s: number) => new Date(t0.getTime() + s * 1000);
      for (const [kind, s] of [['created', 0], ['decided', 2], ['message_added', 4]] as const) {
        await db().updateTable('case_events').set({ at: plus(s) }).where('case_id', '=', ids.A!).where('kind', '=', kind).execute();
      }
      const note = (action: string, s: number) => ({ actor: 'staff:ops@vendor.test', channel: 'staff', action, case_id: ids.A!, company_id: null, infrastructure_id: null, approval_id: null, subject_email: null, at: plus(s), detail: JSON.stringify({ s }) });
      // Inserted out of order; 'tied' shares the decision's instant and comes after it.
      await db().insertInto('audit_log').values([note('later', 3), note('earlier', 1), note('tied', 2)]).execute();
      const d = (await loadCaseDetail(db(), refs.A!))!;
      expect(d.trail.map((e) => `${e.action}:${e.source}`)).toEqual(['created:case_event', 'earlier:audit', 'decided:case_event', 'tied:audit', 'later:audit', 'message_added:case_event']);
      expect(d.trail[1]).toEqual({ at: plus(1).toISOString(), actor: 'staff:ops@vendor.test', channel: 'staff', action: 'earlier', detail: { s: 1 }, source: 'audit' });
      expect(d.trail[0]).toMatchObject({ actor: 'intake', channel: 'mail' });
    });

    it('includes the approval with its approvers and history', async () => {
      const b = (await loadCaseDetail(db(), refs.B!))!;
      expect(b.approval).toMatchObject({ status: 'authorized', requesterEmail: 'mallory@acme.test', decidedBy: 'bob@acme.test', channel: 'link', mailHeld: null, approvers: ['bob@acme.test'] });
      expect(b.approval!.history.map((h) => h.action)).toEqual(['approval_requested', 'approval_joined', 'approval_authorized', 'permission_granted']);
      expect(b.trail.map((e) => e.action)).toEqual(['created', 'decided', 'approval_requested', 'released']);
      const g = (await loadCaseDetail(db(), refs.G!))!;
      expect(g.approval).toMatchObject({ status: 'ignored', decidedBy: 'staff:ops@vendor.test', channel: 'staff', approvers: ['gina@globex.test'] });
    });
  });

  describe('loadDirectory', () => {
    it('lists companies with infrastructures, contacts and where each permission came from', async () => {
      const dir = await loadDirectory(db());
      expect(dir.map((c) => c.name)).toEqual(['Acme Corporation', 'Globex', 'Initech']);
      const acme = dir[0]!;
      expect(acme.domains).toEqual(['acme.test']);
      const infrastructure = (key: string, name: string, isDefault: boolean) => ({ key, name, isDefault, addresses: [`${key}@support.example.com`] });
      expect(acme.infrastructures).toEqual([infrastructure('acme-dev', 'Acme Development', false), infrastructure('acme-prod', 'Acme Production', true)]);
      expect(acme.contacts.map((c) => c.email)).toEqual(['alice@acme.test', 'bob@acme.test', 'carol@acme.test', 'dave@acme.test', 'erin@mail.test', 'mallory@acme.test']);
      const [, bob, , dave, , mallory] = acme.contacts;
      expect(bob).toMatchObject({ name: 'Bob Builder', companyRole: 'member', status: 'active', source: 'import' });
      expect(bob!.permissions.map((p) => [p.infrastructureKey, p.role, p.ccAllCases, p.source, p.grantedBy])).toEqual([['acme-dev', 'user', false, 'import', null], ['acme-prod', 'administrator', true, 'import', null]]);
      expect(mallory).toMatchObject({ name: null, companyRole: 'member', status: 'active', source: 'approval' });
      expect(mallory!.permissions).toEqual([{ infrastructureKey: 'acme-prod', infrastructureName: 'Acme Production', role: 'user', ccAllCases: false, source: 'approval', grantedBy: 'bob@acme.test', grantedVia: 'link', createdAt: expect.any(String) }]);
      expect(dave!.permissions).toEqual([]);
      expect(dir[2]!.infrastructures.map((i) => i.key)).toEqual(['initech-a', 'initech-b']);
      expect(dir[2]!.contacts).toEqual([]);
    });
  });
});
