import { renewalMargin, TokenCache } from './token-cache';
import type { IssuedToken } from './token-client';

/** A provider stand-in for the cache's own logic: hands out numbered tokens living `lifetimeMs`. */
function provider(clock: { now: number }, lifetimeMs: number) {
  const calls: number[] = [];
  let release: (() => void) | null = null;
  let hold = false;
  const request = async (): Promise<IssuedToken> => {
    calls.push(clock.now);
    if (hold) await new Promise<void>((resolve) => (release = resolve));
    return { accessToken: `t${calls.length}`, expiresAt: clock.now + lifetimeMs };
  };
  return { request, calls, holdNext: () => (hold = true), release: () => { hold = false; release?.(); } };
}

describe('TokenCache', () => {
  it('hands out the cached token until its renewal margin, then asks again', async () => {
    const clock = { now: 1_000_000 };
    const p = provider(clock, 3_600_000);
    const cache = new TokenCache(p.request, () => clock.now);
    expect(await cache.token()).toBe('t1');
    clock.now += 3_600_000 - 5 * 60_000 - 1;
    expect(await cache.token()).toBe('t1');
    clock.now += 1;
    expect(await cache.token()).toBe('t2');
    expect(p.calls).toHaveLength(2);
  });

  it('renews a token of a few seconds a fifth of its life before it expires', async () => {
    const clock = { now: 0 };
    const p = provider(clock, 5000);
    const cache = new TokenCache(p.request, () => clock.now);
    await cache.token();
    clock.now = 3999;
    expect(await cache.token()).toBe('t1');
    clock.now = 4000;
    expect(await cache.token()).toBe('t2');
  });

  it('asks for a new token when the server refused the cached one, though it has time left', async () => {
    const clock = { now: 0 };
    const p = provider(clock, 3_600_000);
    const cache = new TokenCache(p.request, () => clock.now);
    await cache.token();
    expect(await cache.token({ fresh: true })).toBe('t2');
    expect(await cache.token()).toBe('t2');
  });

  it('sends concurrent callers to one request', async () => {
    const clock = { now: 0 };
    const p = provider(clock, 3_600_000);
    const cache = new TokenCache(p.request, () => clock.now);
    p.holdNext();
    const waiting = [cache.token(), cache.token(), cache.token()];
    p.release();
    expect(await Promise.all(waiting)).toEqual(['t1', 't1', 't1']);
    expect(p.calls).toHaveLength(1);
  });

  it('caches no failure: the next caller asks the provider again', async () => {
    let fail = true;
    let n = 0;
    const cache = new TokenCache(async () => {
      n++;
      if (fail) throw new Error('refused');
      return { accessToken: 'ok', expiresAt: Date.now() + 60_000 };
    });
    await expect(cache.token()).rejects.toThrow('refused');
    fail = false;
    expect(await cache.token()).toBe('ok');
    expect(n).toBe(2);
  });

  it('margin: five minutes at most, a fifth of short lives, never negative', () => {
    expect(renewalMargin(3_600_000)).toBe(300_000);
    expect(renewalMargin(10_000)).toBe(2_000);
    expect(renewalMargin(-5)).toBe(0);
  });
});
