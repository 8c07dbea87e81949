import type { FastifyInstance } from 'fastify';

/**
 * Every security header the HTTP edge sends, in one place: the sets a page, the dashboard, a
 * mail's HTML and Bull Board answer with, and `registerSecurityHeaders`, which gives every
 * response what it must always carry.
 */

/**
 * Headers for every public HTML page: scripts and styles only from our files (the one script
 * writes times in the viewer's zone), images from us and the vendor's logo only (added by
 * `registerSecurityHeaders`), forms only to us, never framed, never cached, and no Referer (an
 * approval URL carries its token).
 */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex, nofollow',
};

/**
 * Staff pages: as strict, plus our own script (the overview's live refresh over server-sent
 * events) and frames from us only (a message's HTML body, itself served sandboxed).
 */
export const DASHBOARD_HEADERS: Record<string, string> = {
  ...PAGE_HEADERS,
  'content-security-policy': "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
};

/**
 * A message's own HTML, shown inside a sandboxed frame: the CSP sandbox gives it an opaque origin
 * with no scripts, forms, plugins or navigation of the dashboard, and nothing loads from outside
 * (no tracking pixels); inline styles are allowed so the mail still reads as it was written.
 */
export const MAIL_HTML_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'cache-control': 'no-store',
};

/** An attachment or a raw message: never sniffed into something the browser runs, sandboxed if shown anyway. */
export const ATTACHMENT_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "sandbox; default-src 'none'",
  'cache-control': 'no-store',
};

/**
 * Bull Board's pages: its scripts, styles and fonts come from its own static files (no CDN, so
 * its Google font link is blocked and the system font shows); it injects a theme `<style>` and
 * sets inline styles, loads its locale files and queue data with fetch, and highlights job data
 * in a worker of its own. Nothing else: no inline script, no other origin, never framed.
 */
export const QUEUE_BOARD_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** A year: browsers then refuse plain HTTP to this host even on a first visit of the year. */
const HSTS = 'max-age=31536000';

/**
 * What every response carries, whoever made it (our routes, Bull Board, Fastify's 404 and error
 * answers): `nosniff`, so nothing is read as another type than it says (a JSON body as HTML);
 * `no-store` on JSON, whose case data and tokens must not stay in a cache; and, when PUBLIC_URL
 * is https, `Strict-Transport-Security`, so a browser never sends the cookies over plain HTTP.
 * Our pages' `img-src 'self'` also allows `logoOrigin` (VENDOR_LOGO_URL's), and no other.
 */
export function registerSecurityHeaders(app: FastifyInstance, publicUrl: string, logoOrigin: string | null = null): void {
  const https = publicUrl.startsWith('https:');
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('x-content-type-options')) reply.header('x-content-type-options', 'nosniff');
    const csp = reply.getHeader('content-security-policy');
    if (logoOrigin && typeof csp === 'string' && csp.includes("img-src 'self';")) reply.header('content-security-policy', csp.replace("img-src 'self';", `img-src 'self' ${logoOrigin};`));
    const type = String(reply.getHeader('content-type') ?? '');
    if (/^application\/(.+\+)?json\b/i.test(type) && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (https) reply.header('strict-transport-security', HSTS);
    return payload;
  });
}
