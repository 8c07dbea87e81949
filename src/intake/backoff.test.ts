import { Backoff } from './backoff';

describe('Backoff', () => {
  it('grows exponentially up to the ceiling and starts over after reset', () => {
    const top = new Backoff(1000, 8000, () => 1);
    expect([top.next(), top.next(), top.next(), top.next(), top.next()]).toEqual([1000, 2000, 4000, 8000, 8000]);
    top.reset();
    expect(top.next()).toBe(1000);
  });

  it('never waits less than half the minimum', () => {
    const bottom = new Backoff(1000, 8000, () => 0);
    expect(bottom.next()).toBe(500);
    expect(bottom.next()).toBe(500);
  });
});
