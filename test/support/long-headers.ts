/**
 * Messages with one very long header line, of the kinds intake reads itself (Delivered-To and
 * X-Original-To, Content-Type, Authentication-Results, Subject...) or hands to mailparser, for
 * the long-header test and the bench. Every kind is built to defeat a scan that restarts at each
 * position: long runs without the character such a scan looks for.
 */
export const LONG_HEADER_KINDS = [
  'Delivered-To',
  'X-Original-To',
  'Subject',
  'Subject (encoded words)',
  'From (many addresses)',
  'Cc (many addresses)',
  'Cc (many short addresses)',
  'Authentication-Results',
  'References',
  'References (many short ids)',
  'In-Reply-To',
  'Received (many lines)',
  'Content-Type (long token)',
  'Content-Type (unclosed quotes)',
  'X-Unknown',
] as const;

export type LongHeaderKind = (typeof LONG_HEADER_KINDS)[number];

const many = (size: number, item: (i: number) => string, separator: string): string => {
  const parts: string[] = [];
  for (let i = 0, length = 0; length < size; i++) {
    const next = item(i);
    parts.push(next);
    length += next.length + separator.length;
  }
  return parts.join(separator);
};

/** A header field of at least `size` bytes (folded into lines where the kind has several). */
export function longHeaderLine(kind: LongHeaderKind, size: number): string {
  const run = 'a'.repeat(size);
  switch (kind) {
    case 'Delivered-To':
    case 'X-Original-To':
    case 'X-Unknown':
      return `${kind}: ${run}`;
    case 'Subject':
      return `Subject: ${run}`;
    case 'Subject (encoded words)':
      return `Subject: ${many(size, () => '=?utf-8?q?caf=C3=A9?=', ' ')}`;
    case 'From (many addresses)':
      return `From: ${many(size, (i) => `person${i}@acme.test`, ', ')}`;
    case 'Cc (many addresses)':
      return `Cc: ${many(size, (i) => `Person ${i} <person${i}@partner.test>`, ', ')}`;
    case 'Cc (many short addresses)':
      // Past PostgreSQL's 65 535 parameters of one statement, were they inserted at once.
      return `Cc: ${many(size, (i) => `${i}@q.t`, ',')}`;
    case 'Authentication-Results':
      return `Authentication-Results: mx.support.example.com; ${many(size, () => 'dkim=pass header.d=acme.test', '; ')}; dmarc=pass header.d=${run}`;
    case 'References':
      return `References: ${many(size, (i) => `<ref${i}@acme.test>`, ' ')}`;
    case 'References (many short ids)':
      return `References: ${many(size, (i) => `<${i.toString(36)}@a>`, ' ')}`;
    case 'In-Reply-To':
      return `In-Reply-To: <${run}`;
    case 'Received (many lines)':
      return many(size, (i) => `Received: from relay${i}.acme.test by mx.support.example.com; Wed, 2 Dec 2026 10:00:00 +0000`, '\r\n');
    case 'Content-Type (long token)':
      return `Content-Type: text/plain; ${run}`;
    case 'Content-Type (unclosed quotes)':
      return `Content-Type: text/plain; ${many(size, () => 'a="x', ' ')}\\`;
  }
}

const HEADERS = ['From: Bob <bob@acme.test>', 'To: support@support.example.com', 'Subject: A long header', 'Date: Wed, 02 Dec 2026 10:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8'];

/** A small message from bob with `line` among its headers (replacing the field of the same name). */
export function withLongHeader(id: string, line: string): Buffer {
  const name = line.slice(0, line.indexOf(':')).toLowerCase();
  const headers = HEADERS.filter((h) => h.slice(0, h.indexOf(':')).toLowerCase() !== name);
  return Buffer.from([...headers, `Message-ID: <${id}@long.test>`, line, '', 'A message with one long header line.', ''].join('\r\n'));
}

/** The same message with a body line of `size` bytes instead: the linear baseline. */
export function withLongBody(id: string, size: number): Buffer {
  return Buffer.from([...HEADERS, `Message-ID: <${id}@long.test>`, '', 'a'.repeat(size), ''].join('\r\n'));
}
