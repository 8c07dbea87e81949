import type { IssuedToken } from './token-client';

/** A login's access token on demand: the cached one while it has time left, else a new one. */
export interface TokenSource {
  /** `fresh`: the server refused the cached token; ask the provider for another. */
  token(opts?: { fresh?: boolean }): Promise<string>;
}

/** Renewed this long before it expires: five minutes, or a fifth of a short token's life. */
export function renewalMargin(lifetimeMs: number): number {
  return Math.min(5 * 60_000, Math.max(0, lifetimeMs) / 5);
}

/**
 * One credential's token, shared by every connection that logs in with it. A token is taken
 * from the cache until its renewal margin; concurrent callers wait for the same request, so a
 * reconnect storm asks the provider once. A failed request is not cached: the next caller asks
 * again (the watcher's backoff paces that).
 */
export class TokenCache implements TokenSource {
  private current: (IssuedToken & { renewAt: number }) | null = null;
  private pending: Promise<string> | null = null;

  constructor(
    private readonly request: () => Promise<IssuedToken>,
    private readonly now: () => number = Date.now,
  ) {}

  token({ fresh = false }: { fresh?: boolean } = {}): Promise<string> {
    const held = this.current;
    if (!fresh && held && this.now() < held.renewAt) return Promise.resolve(held.accessToken);
    // A refused token asks for a new one even while a request for the old one is in flight.
    if (fresh && held) this.current = null;
    return (this.pending ??= this.renew().finally(() => (this.pending = null)));
  }

  private async renew(): Promise<string> {
    const started = this.now();
    const issued = await this.request();
    this.current = { ...issued, renewAt: issued.expiresAt - renewalMargin(issued.expiresAt - started) };
    return issued.accessToken;
  }
}
