/**
 * Requests to the OAuth harness from its own tests: node:https with the harness CA passed
 * explicitly, so the certificate is verified as the service will verify it (never switched off).
 */
import https from 'node:https';

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

export interface HttpsRequestOptions {
  ca: string;
  method?: 'GET' | 'POST';
  /** Sent as application/x-www-form-urlencoded; a string is sent as it is (e.g. to repeat a parameter). */
  form?: Record<string, string> | string;
  /** HTTP Basic client authentication, form-encoded as RFC 6749 §2.3.1 asks. */
  basic?: { user: string; password: string };
  headers?: Record<string, string>;
}

export function httpsRequest(url: string, opts: HttpsRequestOptions): Promise<HttpsAnswer> {
  const body = typeof opts.form === 'string' ? opts.form : opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  const headers: Record<string, string> = { ...opts.headers };
  if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  if (opts.basic) {
    const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${encode(opts.basic.user)}:${encode(opts.basic.password)}`).toString('base64')}`;
  }
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, ca: opts.ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
        } catch {
          reject(new Error(`not JSON (status ${res.statusCode}): ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function postForm(url: string, ca: string, form: Record<string, string> | string, basic?: { user: string; password: string }): Promise<HttpsAnswer> {
  return httpsRequest(url, { ca, form, basic });
}
