import pino from 'pino';
import type { FeedEvent } from '../cases/event-feed';
import { isUnseen } from '../cases/search';
import { CaseFeed, caseEventChunk, missedEvents, type CaseFeedSource, type CaseFeedSubscriber } from './case-feed';
import { listUrl } from './dashboard/case-views';

const log = pino({ level: 'silent' });

/** A feed source over an array the test appends to; counts its polls. */
function source(events: FeedEvent[] = []) {
  const s = { events, polls: 0, latestId: async () => events.at(-1)?.id ?? '0', after: async (id: string, limit: number) => {
    s.polls++;
    return events.filter((e) => BigInt(e.id) > BigInt(id)).slice(0, limit);
  } } satisfies CaseFeedSource & Record<string, unknown>;
  return s;
}

function subscriber() {
  const s = { chunks: [] as string[], ended: false, write: (c: string) => void s.chunks.push(c), end: () => void (s.ended = true) } satisfies CaseFeedSubscriber & Record<string, unknown>;
  return s;
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('isUnseen', () => {
  it('is new when never opened, or when the latest event is newer than the one seen', () => {
    expect(isUnseen('5', null)).toBe(true);
    expect(isUnseen(null, null)).toBe(true);
    expect(isUnseen('12', '9')).toBe(true);
    // Compared as numbers, not strings ('12' < '9' as text).
    expect(isUnseen('9', '12')).toBe(false);
    expect(isUnseen('12', '12')).toBe(false);
    expect(isUnseen(null, '0')).toBe(false);
  });
});

describe('the case feed', () => {
  it('sends the reference and kind only, with the id for Last-Event-ID', () => {
    expect(caseEventChunk({ id: '7', reference: 'CASE-000001', kind: 'message_added' })).toBe('id: 7\nevent: case\ndata: {"reference":"CASE-000001","kind":"message_added"}\n\n');
  });

  it('says a client missed events only when it names an older one', () => {
    expect(missedEvents('3', '5')).toBe(true);
    expect(missedEvents('10', '9')).toBe(false);
    expect(missedEvents('5', '5')).toBe(false);
    expect(missedEvents(undefined, '5')).toBe(false);
    expect(missedEvents('x; drop', '5')).toBe(false);
  });

  it('starts with the first subscriber, hands each new event to all, and stops with the last', async () => {
    const src = source([{ id: '1', reference: 'CASE-000001', kind: 'created' }]);
    const feed = new CaseFeed(src, log, { pollMs: 10, heartbeatMs: 1000, maxSubscribers: 5 });
    expect(feed.running).toBe(false);
    const a = subscriber();
    const b = subscriber();
    const joinedA = await feed.subscribe(a);
    const joinedB = await feed.subscribe(b);
    // Only what comes after the start: the page already shows the rest.
    expect(joinedA?.position).toBe('1');
    expect(feed.running).toBe(true);
    src.events.push({ id: '2', reference: 'CASE-000002', kind: 'created' }, { id: '3', reference: 'CASE-000001', kind: 'status_changed' });
    await tick(60);
    expect(a.chunks).toEqual([caseEventChunk(src.events[1]!), caseEventChunk(src.events[2]!)]);
    expect(b.chunks).toEqual(a.chunks);
    joinedA!.unsubscribe();
    joinedB!.unsubscribe();
    expect(feed.running).toBe(false);
    const polls = src.polls;
    await tick(50);
    expect(src.polls).toBe(polls);
  });

  it('refuses subscribers past the cap and after close, and close ends every stream', async () => {
    const feed = new CaseFeed(source(), log, { pollMs: 10, heartbeatMs: 1000, maxSubscribers: 2 });
    const subs = [subscriber(), subscriber()];
    for (const s of subs) expect(await feed.subscribe(s)).toBeDefined();
    expect(await feed.subscribe(subscriber())).toBeUndefined();
    feed.close();
    expect(subs.every((s) => s.ended)).toBe(true);
    expect(feed.running).toBe(false);
    expect(await feed.subscribe(subscriber())).toBeUndefined();
  });

  it('beats: each subscriber checks itself, then every stream gets a comment', async () => {
    const feed = new CaseFeed(source(), log, { pollMs: 1000, heartbeatMs: 15, maxSubscribers: 2 });
    let checks = 0;
    const s = { ...subscriber(), heartbeat: () => void checks++ };
    const joined = await feed.subscribe(s);
    await tick(50);
    expect(checks).toBeGreaterThan(0);
    expect(s.chunks).toContain(': heartbeat\n\n');
    joined!.unsubscribe();
  });

  it('keeps polling after a failed read', async () => {
    const src = source();
    let fail = true;
    const feed = new CaseFeed({ latestId: src.latestId, after: async (id, n) => (fail ? ((fail = false), Promise.reject(new Error('db down'))) : src.after(id, n)) }, log, { pollMs: 10, heartbeatMs: 1000, maxSubscribers: 2 });
    const s = subscriber();
    const joined = await feed.subscribe(s);
    src.events.push({ id: '1', reference: 'CASE-000009', kind: 'created' });
    await tick(80);
    expect(s.chunks).toEqual([caseEventChunk(src.events[0]!)]);
    joined!.unsubscribe();
  });
});

describe('listUrl', () => {
  it('keeps the filters, drops blanks and the fragment', () => {
    expect(listUrl({ view: 'mine', status: undefined, q: '', fragment: 'rows', page: 2 })).toBe('/dashboard/cases?view=mine&page=2');
    expect(listUrl({ status: 'pending' }, { page: 3 })).toBe('/dashboard/cases?status=pending&page=3');
    expect(listUrl({})).toBe('/dashboard/cases');
  });
});
