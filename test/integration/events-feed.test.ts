import { recordEvent } from '../../src/cases/repository';
import { relayEvents } from '../../src/events/relay';
import { apiOk } from '../support/api';
import { startTestService, type TestService } from '../support/service';

const TOKEN = 'events-feed-token-0123456789abcdef';

type Feed = { events: Array<{ id: string; type: string; timestamp: string; cursor: string; data: Record<string, unknown> & { case?: { reference: string } } }>; next: string | null };

// GET /api/events on real PostgreSQL: the recorded changes, numbered once, in commit order.
describe('the event feed', () => {
  let t: TestService;
  const feed = async (query = '') => (await apiOk(t.base, TOKEN, 'GET', `/api/events${query}`, undefined)) as unknown as Feed;

  beforeAll(async () => {
    t = await startTestService({ API_TOKEN: TOKEN });
  });
  afterAll(() => t.close());

  it('hands out a member’s case and a stranger’s held case with its approval request, each case in order', async () => {
    const open = await t.write('Bob Builder <bob@acme.test>', 'Printer on fire', { to: 'acme-prod@support.example.com' });
    const held = await t.write('Rita <rita@acme.test>', 'Who am I', { to: 'acme-prod@support.example.com' });
    await t.caseIn(open, 'open');
    await t.caseIn(held, 'suspended');
    await apiOk(t.base, TOKEN, 'POST', `/api/cases/${open}/replies`, { text: 'On it.', status: 'pending' });
    const { events, next } = await feed();
    const of = (ref: string) => events.filter((e) => e.data.case?.reference === ref).map((e) => e.type);
    expect(of(open)).toEqual(['case.created', 'case.decided', 'case.message', 'case.status_changed']);
    expect(of(held)).toEqual(['case.created', 'case.decided', 'approval.requested']);
    const decided = events.find((e) => e.type === 'case.decided' && e.data.case?.reference === held)!;
    expect(decided.data).toMatchObject({ status: 'suspended', holdReason: 'unknown_sender', case: { subject: 'Who am I', requester: { email: 'rita@acme.test' }, infrastructure: 'acme-prod' } });
    expect(events.find((e) => e.type === 'case.message')!.data).toMatchObject({ author: 'staff', channel: 'api' });
    for (const e of events) expect(e.id).toBe(`evt_${e.cursor}`);
    expect(next).toBe(events.at(-1)!.cursor);
    // Nothing comes after the last cursor, and asking again says where to ask from.
    expect(await feed(`?after=${next}`)).toEqual({ events: [], next });
  });

  it('pages with after and limit, the same events with the same ids', async () => {
    const all = (await feed('?limit=1000')).events;
    const first = await feed('?limit=2');
    expect(first.events).toEqual(all.slice(0, 2));
    const rest = await feed(`?after=${first.next}&limit=1000`);
    expect(rest.events).toEqual(all.slice(2));
  });

  it('numbers a change that commits after a later one behind it, so a reader past the later one still gets it', async () => {
    const ref = await t.write('Bob Builder <bob@acme.test>', 'Slow transaction', { to: 'acme-prod@support.example.com' });
    await t.caseIn(ref, 'open');
    const before = (await feed('?limit=1000')).next;
    const caseId = (await t.app.ctx.db.selectFrom('cases').select('id').where('reference', '=', ref).executeTakeFirstOrThrow()).id;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // A: takes its event id first, commits last.
    const slow = t.app.ctx.db.transaction().execute(async (tx) => {
      await recordEvent(tx, caseId, 'escalated', 'bob@acme.test', { reason: 'first id, last commit' }, 'portal');
      await held;
    });
    await new Promise((r) => setTimeout(r, 100));
    await t.app.ctx.db.transaction().execute((tx) => recordEvent(tx, caseId, 'status_changed', 'sam@support.example.com', { from: 'open', to: 'pending' }, 'dashboard'));
    const early = await feed(`?after=${before}`);
    expect(early.events.map((e) => e.type)).toEqual(['case.status_changed']);
    release();
    await slow;
    const late = await feed(`?after=${early.next}`);
    expect(late.events.map((e) => e.type)).toEqual(['case.escalated']);
    expect((await relayEvents(t.app.ctx.db)).events).toBe(0);
  });

  it('refuses a cursor that is not one and a limit out of range, and anyone without the token', async () => {
    for (const q of ['?after=evt_1', '?limit=0', '?limit=5000', '?since=1']) {
      const res = await fetch(`${t.base}/api/events${q}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_input');
    }
    expect((await fetch(`${t.base}/api/events`)).status).toBe(401);
  });
});
