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
  /** The first DMARC result. */
  dmarc: string | null;
  /** Every DMARC result with the From domain it was evaluated for (header.from; null when not named). */
  dmarcResults: Array<{ result: string; headerFrom: string | null }>;
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
    const dmarcResults = rest.flatMap((r) => {
      const outcome = new RegExp('^\\s*dmarc\\s*=\\s*([a-z]+)', 'i').exec(r)?.[1]?.toLowerCase();
      return outcome ? [{ result: outcome, headerFrom: domainOf(r, 'header\\.from') }] : [];
    });
    return {
      dmarc: dmarcResults[0]?.result ?? null,
      dmarcResults,
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

/** Whether an address is verified, and the evidence either way (kept as a reason, never a secret). */
export interface SenderVerdict {
  verified: boolean;
  /** e.g. `dmarc=pass header.from=acme.test`, `dmarc=pass header.from=evil.test, not acme.test`, `dmarc=none`. */
  why: string;
}

/**
 * Whether our receiving server vouched for `email`, the address we are about to act on (a new
 * case's requester, a reply's author, an approver answering by mail): the one verification of
 * every path. Where it recorded DMARC, only a pass for that address's own domain counts
 * (header.from): a message may name several From addresses (and its author in Sender), and a
 * DMARC pass speaks for the domain it was evaluated on, not for the others. Where it recorded no
 * DMARC result, an aligned DKIM signature or SPF pass. Anything else (no header of ours, a
 * failure, a pass for another domain or for an unnamed one) is unverified.
 */
export function verifySender(raw: Buffer, authservId: string, email: string): SenderVerdict {
  const results = trustedAuthResults(raw, authservId);
  if (!results) return { verified: false, why: 'dmarc=none' };
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  if (results.dmarcResults.length) {
    const own = results.dmarcResults.filter((d) => d.headerFrom === domain);
    const failed = own.find((d) => d.result !== 'pass');
    if (own.length && !failed) return { verified: true, why: `dmarc=pass header.from=${domain}` };
    if (failed) return { verified: false, why: `dmarc=${failed.result} header.from=${domain}` };
    const other = results.dmarcResults[0]!;
    return { verified: false, why: `dmarc=${other.result} header.from=${other.headerFrom ?? '(none)'}, not ${domain}` };
  }
  if (results.dkimPassDomains.some((d) => aligned(d, domain))) return { verified: true, why: `dkim=pass aligned with ${domain}` };
  if (results.spfPassDomain !== null && aligned(results.spfPassDomain, domain)) return { verified: true, why: `spf=pass aligned with ${domain}` };
  return { verified: false, why: `dmarc=none, no dkim or spf pass aligned with ${domain}` };
}
