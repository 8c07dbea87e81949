import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../errors';
import { mac, sameText } from '../security/signing';
import { readCookie, setCookie } from './cookies';

/**
 * CSRF tokens for our HTML forms. With a session, the token is an HMAC of the session's key, so
 * it is valid for that session only. Before there is one (the sign-in forms), it is bound to a
 * short-lived cookie of its own: a cross-site page can neither read that cookie nor set it.
 */
export class FormTokens {
  constructor(
    private readonly secret: string,
    private readonly publicUrl: string,
    /** Keeps the staff dashboard's and the portal's tokens apart. */
    private readonly purpose: string,
  ) {}

  /** `Secure` cookies when the public URL is https, or the proxy says the request was. */
  secure(request: FastifyRequest): boolean {
    return this.publicUrl.startsWith('https:') || request.protocol === 'https';
  }

  forSession(sessionKey: string): string {
    return mac(this.secret, `${this.purpose}-csrf`, sessionKey, 20);
  }

  sessionOk(request: FastifyRequest, sessionKey: string | null): boolean {
    const given = field(request.body, '_csrf');
    return sessionKey !== null && given !== '' && sameText(given, this.forSession(sessionKey));
  }

  /** The token for a form shown before sign-in; sets the binding cookie on `path` when missing. */
  beforeSession(request: FastifyRequest, reply: FastifyReply, cookie: string, path: string): string {
    let binding = readCookie(request, cookie);
    if (!binding || !/^[A-Za-z0-9_-]{22}$/.test(binding)) {
      binding = randomBytes(16).toString('base64url');
      setCookie(reply, cookie, binding, { path, httpOnly: true, sameSite: 'strict', secure: this.secure(request) });
    }
    return mac(this.secret, `${this.purpose}-login-csrf`, binding, 20);
  }

  beforeSessionOk(request: FastifyRequest, cookie: string): boolean {
    const binding = readCookie(request, cookie);
    const given = field(request.body, '_csrf');
    return Boolean(binding && given && sameText(given, mac(this.secret, `${this.purpose}-login-csrf`, binding, 20)));
  }
}

/** A string field of a parsed urlencoded form ('' when missing or repeated). */
export function field(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
}

/**
 * A form shown again after it was refused: what was typed, so nothing has to be typed twice, and
 * each field's problem, shown at the field (templates: `value="{{form.values.x}}"`,
 * `{{fieldAttrs form "x" "id"}}` on the control and `{{fieldError form "x" "id"}}` after it).
 */
export interface FormEcho {
  values: Record<string, string>;
  errors: Record<string, string>;
}

/** Never shown again, whatever the form: secrets and the CSRF token (the page carries a fresh one). */
const NOT_ECHOED = new Set(['password', '_csrf']);

/** The typed string fields of `body` (passwords left out) with `errors` by field name. */
export function formEcho(body: unknown, errors: Record<string, string>): FormEcho {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries((body as Record<string, unknown> | undefined) ?? {})) if (typeof value === 'string' && !NOT_ECHOED.has(name)) values[name] = value;
  return { values, errors };
}

/**
 * A refusal's details ("field: what is wrong", as parseInput and the domain's form parsers write
 * them) by field; a detail naming no field of the form goes under `fallback`.
 */
export function fieldErrors(details: readonly string[], isField: (name: string) => boolean, fallback: string): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const detail of details) {
    const at = detail.indexOf(': ');
    const named = at > 0 ? detail.slice(0, at) : '';
    const [name, text] = named && isField(named) ? [named, detail.slice(at + 2)] : [fallback, detail];
    errors[name] = errors[name] ? `${errors[name]}; ${text}` : text;
  }
  return errors;
}

/**
 * Runs a one-text-field form's `work`; when it refuses the input, `showAgain` gets the form as
 * typed with the problem at `textField`, instead of a page that loses what was typed.
 */
export async function orShowAgain<T>(body: unknown, textField: string, work: () => Promise<T>, showAgain: (echo: FormEcho) => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof DomainError) || err.code !== 'invalid_input') throw err;
    return showAgain(formEcho(body, fieldErrors(err.details.length ? err.details : [err.message], (name) => name === textField, textField)));
  }
}
