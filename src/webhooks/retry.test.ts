import { afterFailure, DEFAULT_RETRY } from './retry';

describe('afterFailure', () => {
  it('waits 5 s after the first failure, doubling to at most an hour', () => {
    const waits = [1, 2, 3, 4, 10, 11, 12, 60, 5000].map((n) => afterFailure(n, false, DEFAULT_RETRY));
    expect(waits.map((w) => (w.status === 'pending' ? w.retryInMs / 1000 : w.status))).toEqual([5, 10, 20, 40, 2560, 3600, 3600, 3600, 3600]);
  });

  it('gives up only once the retry window is over, however many attempts came before', () => {
    expect(afterFailure(3, true, DEFAULT_RETRY)).toEqual({ status: 'failed' });
    expect(afterFailure(500, false, DEFAULT_RETRY).status).toBe('pending');
  });

  it('keeps retrying for 24 hours with at least 30 attempts', () => {
    let elapsed = 0;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const next = afterFailure(attempts, elapsed >= DEFAULT_RETRY.forMs, DEFAULT_RETRY);
      if (next.status === 'failed') break;
      elapsed = Math.min(elapsed + next.retryInMs, DEFAULT_RETRY.forMs);
    }
    expect(elapsed).toBe(DEFAULT_RETRY.forMs);
    expect(attempts).toBeGreaterThanOrEqual(30);
  });
});
