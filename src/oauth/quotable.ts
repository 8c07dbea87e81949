/**
 * Text a provider or a mail server sent, made fit to show an operator: one line, short, and with
 * anything shaped like a credential cut out. The explanations quote such text; a buggy server
 * that echoes the token it was given must not get it into a log or the dashboard.
 */

const TOKEN_SHAPES: RegExp[] = [
  // A JWT (Microsoft's access tokens, any signed assertion): three base64url parts.
  /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  // Google's access and refresh tokens.
  /\bya29\.[A-Za-z0-9._-]+/g,
  /\b1\/\/[A-Za-z0-9._-]+/g,
];

/** The value after "Bearer", or after a credential's name and = or :, whatever it looks like. */
const BEARER = /\b(bearer)\s+[^\s"',;]+/gi;
const LABELLED = /\b(access_token|refresh_token|id_token|token|client_secret|secret|assertion|client_assertion|password|pass)(["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi;

/** Long runs of base64 that mix cases and digits: a SASL payload (user=…\x01auth=Bearer …) or an opaque token. */
const OPAQUE = /[A-Za-z0-9+/_-]{32,}={0,2}/g;

function looksOpaque(run: string): boolean {
  // Trace and correlation IDs (GUIDs) and certificate thumbprints (upper-case hex) help support; keep them.
  if (/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(run) || /^[0-9A-F]+$/.test(run)) return false;
  return /[a-z]/.test(run) && /[A-Z]/.test(run) && /[0-9]/.test(run);
}

/** Anything token-shaped replaced by `[redacted]`. */
export function withoutTokens(text: string): string {
  let out = text;
  for (const shape of TOKEN_SHAPES) out = out.replace(shape, '[redacted]');
  out = out.replace(BEARER, (_m, word: string) => `${word} [redacted]`);
  out = out.replace(LABELLED, (_m, key: string, sep: string) => `${key}${sep}[redacted]`);
  return out.replace(OPAQUE, (run) => (looksOpaque(run) ? '[redacted]' : run));
}

/** One line of at most `max` characters, credentials cut out. */
export function quotable(text: string, max = 200): string {
  const line = withoutTokens(text).replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1).trimEnd()}…`;
}

/**
 * The first sentence of a provider's error description, without Microsoft's `AADSTSnnnn: ` prefix
 * and the trace, correlation and timestamp lines it appends.
 */
export function firstSentence(description: string): string {
  const text = description.replace(/^\s*AADSTS\d+:\s*/, '').split(/\r?\n|\s+Trace ID:/)[0] ?? '';
  const end = /[.!?](\s|$)/.exec(text);
  return quotable(end ? text.slice(0, end.index + 1) : text);
}
