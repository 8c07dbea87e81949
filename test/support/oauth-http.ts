/**
 * The HTTP side shared by the harness's token endpoints: reading a form-encoded token request as
 * an authorization server does (RFC 6749 §3.2, §2.3.1) and answering JSON that is never cached.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A token request as the endpoints see it. Secrets stay in here, never in what is recorded. */
export interface TokenHttpRequest {
  method: string;
  path: string;
  /** The body's parameters; empty unless it was application/x-www-form-urlencoded. */
  form: URLSearchParams;
  /** Parameters sent more than once, which RFC 6749 §3.2 forbids. */
  repeated: string[];
  /** HTTP Basic client credentials, form-decoded as RFC 6749 §2.3.1 requires; null without the header. */
  basic: { clientId: string; clientSecret: string } | null;
  /** Set when an Authorization header was there but was not valid Basic. */
  malformedAuthorization: boolean;
  headers: IncomingMessage['headers'];
}

export interface JsonReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Bodies beyond this are refused: no token request comes near it. */
const MAX_BODY_BYTES = 64 * 1024;

export async function readTokenRequest(req: IncomingMessage): Promise<TokenHttpRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const form = contentType === 'application/x-www-form-urlencoded' ? new URLSearchParams(Buffer.concat(chunks).toString('utf8')) : new URLSearchParams();
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const key of form.keys()) (seen.has(key) ? repeated : seen).add(key);
  const { basic, malformed } = parseBasic(req.headers.authorization);
  return {
    method: req.method ?? 'GET',
    path: new URL(req.url ?? '/', 'https://harness.invalid').pathname,
    form,
    repeated: [...repeated],
    basic,
    malformedAuthorization: malformed,
    headers: req.headers,
  };
}

export function sendJson(res: ServerResponse, reply: JsonReply): void {
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    // RFC 6749 §5.1: token responses must not be cached.
    'cache-control': 'no-store',
    pragma: 'no-cache',
    ...reply.headers,
  });
  res.end(body);
}

/** How the client proved who it is, from the body or the Authorization header. */
export type ClientAuthentication = 'secret_post' | 'secret_basic' | 'assertion' | 'none';

export function clientAuthentication(req: TokenHttpRequest): ClientAuthentication {
  if (req.basic) return 'secret_basic';
  if (req.form.has('client_assertion') || req.form.has('assertion')) return 'assertion';
  if (req.form.has('client_secret')) return 'secret_post';
  return 'none';
}

function parseBasic(header: string | undefined): { basic: TokenHttpRequest['basic']; malformed: boolean } {
  if (header === undefined) return { basic: null, malformed: false };
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return { basic: null, malformed: true };
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { basic: null, malformed: true };
  try {
    // Both halves are application/x-www-form-urlencoded before base64 (RFC 6749 §2.3.1).
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { basic: { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) }, malformed: false };
  } catch {
    return { basic: null, malformed: true };
  }
}
