import { setStaffPassword } from '../../src/staff/accounts';
import type { Db } from '../../src/db/connection';

export const STAFF_PASSWORD = 'correct horse battery staple';

/** The hidden `_csrf` value of the first form in a page. */
export function csrfIn(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error('no CSRF field in the page');
  return m[1];
}

/**
 * A browser-like HTTP client for the dashboard: keeps cookies, never follows redirects (tests
 * look at them), posts forms urlencoded.
 */
export class WebClient {
  private readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(path: string, init: { method?: string; form?: Record<string, string>; multipart?: FormData; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size) headers.cookie = this.cookieHeader;
    let body: string | FormData | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    } else if (init.multipart) {
      // fetch writes the multipart/form-data content type with its boundary.
      body = init.multipart;
    }
    const res = await fetch(`${this.base}${path}`, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const [name, ...value] = pair!.split('=');
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || attrs.some((a) => /^\s*max-age=0\b/i.test(a));
      if (expired) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value.join('='));
    }
    return res;
  }

  async get(path: string): Promise<{ status: number; text: string; res: Response }> {
    const res = await this.request(path);
    return { status: res.status, text: await res.text(), res };
  }

  async post(path: string, form: Record<string, string>): Promise<Response> {
    return this.request(path, { form });
  }

  /** Posts a form as a browser does with enctype="multipart/form-data": its fields, then its files. */
  async postMultipart(path: string, fields: Record<string, string>, files: Array<{ field: string; filename: string; type?: string; content: Buffer | string }> = []): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    // A Buffer may sit on a SharedArrayBuffer, which Blob does not take: its bytes are copied.
    for (const f of files) form.append(f.field, new Blob([typeof f.content === 'string' ? f.content : new Uint8Array(f.content)], { type: f.type ?? 'application/octet-stream' }), f.filename);
    return this.request(path, { multipart: form });
  }

  /** Signs in through the real form; throws unless the server answers with the dashboard. */
  async signIn(email: string, password = STAFF_PASSWORD): Promise<Response> {
    const page = await this.get('/login');
    return this.post('/login', { _csrf: csrfIn(page.text), email, password });
  }
}

/** A staff account, then a client signed in with it. */
export async function signedInStaff(db: Db, base: string, email = 'agent@support.example.com'): Promise<WebClient> {
  await setStaffPassword(db, email, STAFF_PASSWORD);
  const client = new WebClient(base);
  const res = await client.signIn(email);
  if (res.status !== 303 || res.headers.get('location') !== '/dashboard') throw new Error(`sign-in failed: ${res.status} ${res.headers.get('location')}`);
  return client;
}
