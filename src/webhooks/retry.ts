/** How long after a failed attempt the next one comes, and when a delivery is given up. */
export interface WebhookRetryPolicy {
  /** The first retry's delay; it doubles with each failure. WEBHOOK_RETRY_FIRST. */
  firstMs: number;
  /** No retry waits longer. WEBHOOK_RETRY_MAX. */
  maxMs: number;
  /** Retries go on this long after the first failure; then the delivery is `failed`. WEBHOOK_RETRY_FOR. */
  forMs: number;
}

export const DEFAULT_RETRY: WebhookRetryPolicy = { firstMs: 5_000, maxMs: 3_600_000, forMs: 24 * 3_600_000 };

export type AfterFailure = { status: 'pending'; retryInMs: number } | { status: 'failed' };

/**
 * After the `attempts`-th failed attempt: wait and try again, or give up. `pastGiveUp` is the
 * database's answer to "is the retry window (set by the first failure) over?", so a delivery
 * gets at least the whole window, and its last attempt comes at the window's end at the latest
 * (the caller caps the wait there).
 */
export function afterFailure(attempts: number, pastGiveUp: boolean, policy: WebhookRetryPolicy): AfterFailure {
  if (pastGiveUp) return { status: 'failed' };
  const doublings = Math.min(Math.max(attempts - 1, 0), 40);
  return { status: 'pending', retryInMs: Math.min(policy.maxMs, policy.firstMs * 2 ** doublings) };
}
