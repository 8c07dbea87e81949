import { isIP } from 'node:net';

/**
 * Which reverse proxies' `X-Forwarded-For` / `-Proto` / `-Host` are believed (TRUST_PROXY). Only
 * those: the client address is what the sign-in limits count and the logs record, so believing
 * any header would let every request name its own address.
 */
export type TrustProxy =
  /** No proxy: the client is the peer of the connection. */
  | { kind: 'none' }
  /** Proxies at these addresses or networks (`loopback`, `linklocal`, `uniquelocal` name ranges). */
  | { kind: 'addresses'; addresses: string[] }
  /** The nearest `hops` peers are proxies, whatever their address (only when nothing reaches the port directly). */
  | { kind: 'hops'; hops: number };

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function validEntry(entry: string): boolean {
  if (NAMED_RANGES.has(entry) || isIP(entry)) return true;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(entry);
  const family = m ? isIP(m[1]!) : 0;
  return family !== 0 && Number(m![2]) <= (family === 4 ? 32 : 128);
}

/** `''` → none; `3` → three hops; `127.0.0.1, 10.0.0.0/8` → those. A string is the problem with the value. */
export function parseTrustProxy(value: string): TrustProxy | string {
  const v = value.trim();
  if (!v) return { kind: 'none' };
  if (/^\d+$/.test(v)) return Number(v) >= 1 ? { kind: 'hops', hops: Number(v) } : 'a hop count is at least 1 (leave TRUST_PROXY unset to trust no proxy)';
  const addresses = v.split(/[\s,]+/).filter(Boolean);
  const bad = addresses.filter((a) => !validEntry(a));
  // Only the entries, never another variable's value: these are addresses, not secrets.
  if (bad.length) return `must be a hop count or a comma-separated list of proxy addresses or CIDRs (or loopback, linklocal, uniquelocal); not: ${bad.join(', ')}`;
  return { kind: 'addresses', addresses };
}
