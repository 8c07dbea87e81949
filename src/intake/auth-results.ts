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
    return { dmarc: result('dmarc')[0] ?? null, dkim: result('dkim'), spf: result('spf')[0] ?? null };
  }
  return null;
}
