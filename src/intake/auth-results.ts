import { headerBlock } from './headers';

/** Every value of a header, topmost first (the order relays prepend them in), unfolded. */
export function headerValues(raw: Buffer, name: string): string[] {
  const unfolded = headerBlock(raw).replace(/\r?\n[ \t]+/g, ' ');
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) values.push(line.slice(colon + 1).trim());
  }
  return values;
}

export interface AuthResults {
  dmarc: string | null;
  dkim: string[];
  spf: string | null;
  /** Domains of the DKIM signatures that passed (header.d / header.i). */
  dkimPassDomains: string[];
  /** The envelope sender's domain when SPF passed (smtp.mailfrom). */
  spfPassDomain: string | null;
}

/**
 * The results our own receiving server recorded (RFC 8601): the topmost Authentication-Results
 * whose authserv-id is ours. Any other such header may have been written by the sender, and
 * one below ours could be forged, so only the first of ours counts. Null when there is none.
 */
export function trustedAuthResults(raw: Buffer, authservId: string): AuthResults | null {
  for (const value of headerValues(raw, 'authentication-results')) {
    const withoutComments = value.replace(/\([^()]*\)/g, ' ');
    const [id, ...rest] = withoutComments.split(';');
    if ((id ?? '').trim().split(/\s+/)[0]?.toLowerCase() !== authservId.toLowerCase()) continue;
    const result = (method: string) => rest.map((r) => new RegExp(`^\\s*${method}\\s*=\\s*([a-z]+)`, 'i').exec(r)?.[1]?.toLowerCase()).filter((x): x is string => !!x);
    const passing = (method: string) => rest.filter((r) => new RegExp(`^\\s*${method}\\s*=\\s*pass\\b`, 'i').test(r));
    const domainOf = (r: string, property: string) => new RegExp(`${property}\\s*=\\s*"?(?:[^@\\s";]*@)?([^\\s";]+)`, 'i').exec(r)?.[1]?.toLowerCase() ?? null;
    return {
      dmarc: result('dmarc')[0] ?? null,
      dkim: result('dkim'),
      spf: result('spf')[0] ?? null,
      dkimPassDomains: passing('dkim').map((r) => domainOf(r, 'header\\.d') ?? domainOf(r, 'header\\.i')).filter((d): d is string => !!d),
      spfPassDomain: passing('spf').map((r) => domainOf(r, 'smtp\\.mailfrom'))[0] ?? null,
    };
  }
  return null;
}

/** Relaxed alignment (RFC 7489): the authenticated domain is the From domain or a parent of it. */
function aligned(authenticated: string, fromDomain: string): boolean {
  return fromDomain === authenticated || fromDomain.endsWith(`.${authenticated}`) || authenticated.endsWith(`.${fromDomain}`);
}

/**
 * Whether our receiving server vouched for the From address: DMARC passed, or, where it recorded
 * no DMARC result, an aligned DKIM signature or SPF pass. Anything else (no header of ours, a
 * failure) is unverified.
 */
export function senderVerified(raw: Buffer, authservId: string, fromEmail: string): boolean {
  const results = trustedAuthResults(raw, authservId);
  if (!results) return false;
  if (results.dmarc !== null) return results.dmarc === 'pass';
  const fromDomain = fromEmail.slice(fromEmail.lastIndexOf('@') + 1).toLowerCase();
  return results.dkimPassDomains.some((d) => aligned(d, fromDomain)) || (results.spfPassDomain !== null && aligned(results.spfPassDomain, fromDomain));
}
