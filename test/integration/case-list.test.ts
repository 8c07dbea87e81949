import type { FastifyInstance } from 'fastify';
import { recordEvent } from '../../src/cases/repository';
import { searchCases, searchCasesWhere, type CaseSearchFilter } from '../../src/cases/search';
import type { CaseStatus } from '../../src/db/schema';
import { fileRawMessage } from '../../src/intake/ingest';
import { setStaffPassword } from '../../src/staff/accounts';
import { recordCaseView, seenEventOf } from '../../src/staff/case-views';
import { createTestApp, eventually, type TestApp } from '../support/env';
import { makeMessage } from '../support/messages';
import { signedInStaff, STAFF_PASSWORD, type WebClient } from '../support/staff';
import { startTestWeb } from '../support/web';

const ANN = 'ann@support.example.com';
const BEN = 'ben@support.example.com';

/** The casework a case is given after intake (as src/cases/work.ts would leave it). */
type Shape = { status: CaseStatus; assignee?: 'ann' | 'ben'; escalated?: boolean };
const SHAPES: Record<string, Shape> = {
  A: { status: 'open', assignee: 'ann' },
  B: { status: 'pending' },
  C: { status: 'open', assignee: 'ben', escalated: true },
  D: { status: 'solved', escalated: true },
  E: { status: 'suspended' },
  F: { status: 'pending', escalated: true },
  G: { status: 'open' },
};

describe('the staff case list (PostgreSQL)', () => {
  let app: TestApp;
  const refs: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const staff: Record<string, string> = {};
  const db = () => app.ctx.db;
  const names = (rows: Array<{ reference: string }>) => rows.map((r) => Object.keys(refs).find((k) => refs[k] === r.reference));
  const list = async (filter: CaseSearchFilter = {}, viewer = 'ann') => (await searchCases(db(), filter, {}, { staffId: staff[viewer]! })).rows;

  beforeAll(async () => {
    app = await createTestApp();
    for (const [name, email] of [['ann', ANN], ['ben', BEN]] as const) {
      await setStaffPassword(db(), email, STAFF_PASSWORD);
      staff[name] = (await db().selectFrom('staff_accounts').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
    }
    for (const [name, shape] of Object.entries(SHAPES)) {
      const r = await fileRawMessage(app.ctx.intake, makeMessage({ from: `${name.toLowerCase()}@customer.test`, subject: `Case ${name}`, id: `list-${name}` }), { source: 'pipe' });
      if (r.outcome !== 'case') throw new Error(r.outcome);
      refs[name] = r.reference;
      ids[name] = r.caseId;
      await db()
        .updateTable('cases')
        .set({ status: shape.status, assignee_id: shape.assignee ? staff[shape.assignee]! : null, escalated_at: shape.escalated ? new Date() : null, escalated_by: shape.escalated ? 'customer' : null })
        .where('id', '=', r.caseId)
        .execute();
    }
  });
  afterAll(() => app?.close());

  it('lists escalated cases that are open or pending first, then the rest, each newest first', async () => {
    const rows = await list();
    expect(names(rows)).toEqual(['F', 'C', 'G', 'E', 'D', 'B', 'A']);
    expect(rows.map((r) => r.urgent)).toEqual([true, true, false, false, false, false, false]);
    const c = rows.find((r) => r.reference === refs.C)!;
    expect(c).toMatchObject({ status: 'open', assigneeEmail: BEN, escalatedAt: expect.any(String), subject: 'Case C', messageCount: 1 });
    expect(rows.find((r) => r.reference === refs.D)).toMatchObject({ status: 'solved', assigneeEmail: null, escalatedAt: expect.any(String), urgent: false });
    // The portal's lists stay newest first: escalation is staff's business.
    expect(names((await searchCasesWhere(db(), undefined, {})).rows)).toEqual(['G', 'F', 'E', 'D', 'C', 'B', 'A']);
  });

  it('pages across the escalated run and the rest without losing or repeating a case', async () => {
    const page = async (n: number, size: number) => searchCases(db(), {}, { page: n, size }, { staffId: staff.ann! });
    expect(await page(1, 3)).toMatchObject({ total: 7, pages: 3 });
    const pages3 = await Promise.all([1, 2, 3].map(async (n) => names((await page(n, 3)).rows)));
    expect(pages3).toEqual([['F', 'C', 'G'], ['E', 'D', 'B'], ['A']]);
    const pages1 = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(async (n) => names((await page(n, 1)).rows)[0]));
    expect(pages1).toEqual(['F', 'C', 'G', 'E', 'D', 'B', 'A']);
    expect(names((await page(1, 2)).rows)).toEqual(['F', 'C']);
    expect(names((await page(2, 2)).rows)).toEqual(['G', 'E']);
  });

  it('filters by view and status, alone and together', async () => {
    expect(names(await list({ assigneeId: staff.ann }))).toEqual(['A']);
    expect(names(await list({ assigneeId: staff.ben }))).toEqual(['C']);
    // Unassigned: passed the gate and being worked (open or pending), nobody on it.
    expect(names(await list({ unassigned: true }))).toEqual(['F', 'G', 'B']);
    expect(names(await list({ escalated: true }))).toEqual(['F', 'C', 'D']);
    expect(names(await list({ status: 'pending' }))).toEqual(['F', 'B']);
    expect(names(await list({ status: 'solved', escalated: true }))).toEqual(['D']);
    expect(names(await list({ unassigned: true, status: 'pending' }))).toEqual(['F', 'B']);
    expect(names(await list({ q: 'case c' }))).toEqual(['C']);
    expect(await searchCases(db(), { escalated: true }, { page: 1, size: 2 })).toMatchObject({ total: 3, pages: 2 });
  });

  it('marks a case new until its viewer opens it, and again when something happens to it', async () => {
    expect((await list()).every((r) => r.unseen)).toBe(true);
    await recordCaseView(db(), staff.ann!, refs.A!.toLowerCase());
    const unseen = async (viewer: string) => Object.fromEntries((await list({}, viewer)).map((r) => [names([r])[0], r.unseen]));
    expect(await unseen('ann')).toMatchObject({ A: false, B: true, C: true });
    // Another member's view is theirs.
    expect((await unseen('ben')).A).toBe(true);
    await recordEvent(db(), ids.A!, 'status_changed', `staff:${BEN}`, { to: 'pending' });
    expect((await unseen('ann')).A).toBe(true);
    await recordCaseView(db(), staff.ann!, refs.A!);
    expect((await unseen('ann')).A).toBe(false);
    // A view never moves back, and an unknown case records nothing.
    const seen = await seenEventOf(db(), staff.ann!, ids.A!);
    await db().updateTable('staff_case_views').set({ seen_event_id: String(BigInt(seen!) + 100n) }).where('staff_id', '=', staff.ann!).where('case_id', '=', ids.A!).execute();
    await recordCaseView(db(), staff.ann!, refs.A!);
    expect(await seenEventOf(db(), staff.ann!, ids.A!)).toBe(String(BigInt(seen!) + 100n));
    await recordCaseView(db(), staff.ann!, 'CASE-999999');
    // Without a viewer nothing is marked.
    expect((await searchCases(db(), {})).rows.some((r) => r.unseen)).toBe(false);
  });

  describe('over HTTP', () => {
    let server: FastifyInstance;
    let base: string;
    let ann: WebClient;
    beforeAll(async () => {
      ({ server, base } = await startTestWeb(app, 'token-not-used', { caseFeed: { pollMs: 50, heartbeatMs: 200, maxSubscribers: 1 } }));
      ann = await signedInStaff(db(), base, ANN);
    });
    afterAll(() => server?.close());

    it('serves the list with its views, and the rows alone for the live script', async () => {
      const mine = await ann.get('/dashboard/cases?view=mine');
      expect(mine.status).toBe(200);
      expect(mine.text).toContain(refs.A);
      expect(mine.text).not.toContain(refs.B);
      expect(mine.text).toMatch(/data-events="\/dashboard\/cases\/live\?after&#x3D;\d+"/);
      const rows = await ann.get('/dashboard/cases?view=unassigned&fragment=rows');
      expect(rows.res.headers.get('x-case-total')).toBe('3');
      expect(rows.res.headers.get('cache-control')).toBe('no-store');
      expect(rows.text.trim()).toMatch(/^<tr/);
      expect(rows.text).not.toContain('<html');
      expect([...rows.text.matchAll(/data-case="(CASE-\d+)"/g)].map((m) => m[1])).toEqual([refs.F, refs.G, refs.B]);
      expect(rows.text).toContain('unassigned');
      expect((await ann.get('/dashboard/cases?view=nobody')).status).toBe(400);
    });

    it('streams case events to one subscriber, refuses the next, and says when a client missed some', async () => {
      const controller = new AbortController();
      const live = await fetch(`${base}/dashboard/cases/live?after=0`, { headers: { cookie: ann.cookieHeader }, signal: controller.signal });
      expect(live.status).toBe(200);
      expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(live.headers.get('cache-control')).toBe('no-store');
      const refused = await fetch(`${base}/dashboard/cases/live`, { headers: { cookie: ann.cookieHeader } });
      expect(refused.status).toBe(503);
      await refused.arrayBuffer();
      const reader = live.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const read = (what: string, pattern: RegExp) =>
        eventually(async () => {
          text += decoder.decode((await reader.read()).value);
          return pattern.test(text) || undefined;
        }, 10_000, what);
      await read('a stale notice (events since after=0)', /event: stale\n/);
      await recordEvent(db(), ids.G!, 'note_added', `staff:${BEN}`, { text: 'a secret note' });
      await read('the event', new RegExp(`event: case\\ndata: \\{"reference":"${refs.G}","kind":"note_added"\\}`));
      expect(text).not.toContain('secret');
      await read('a heartbeat', /: heartbeat\n/);
      controller.abort();
      // The slot is free again once the stream is gone.
      await eventually(async () => {
        const again = await fetch(`${base}/dashboard/cases/live`, { headers: { cookie: ann.cookieHeader }, signal: AbortSignal.timeout(2000) });
        const ok = again.status === 200;
        if (ok) await again.body?.cancel();
        else await again.arrayBuffer();
        return ok;
      }, 5000, 'a free slot');
    });

    it('opening a case clears its mark for whoever opened it', async () => {
      const marked = async () => [...(await ann.get('/dashboard/cases?fragment=rows')).text.matchAll(/data-case="(CASE-\d+)" data-unseen="yes"/g)].map((m) => m[1]);
      expect(await marked()).toContain(refs.G);
      expect((await ann.get(`/dashboard/cases/${refs.G}`)).status).toBe(200);
      expect(await marked()).not.toContain(refs.G);
      expect((await ann.get('/dashboard/cases/live-not-a-case')).status).toBe(404);
    });
  });
});
