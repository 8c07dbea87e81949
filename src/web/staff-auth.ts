import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../db/connection';
import { countAttempt, forgetAttempts, refundAttempt, type RateRule } from '../security/rate-limit';
import { checkStaffLogin, normaliseStaffEmail } from '../staff/accounts';
import { endStaffSession, findStaffSession, startStaffSession, type StaffSession } from '../staff/sessions';
import { clearCookie, readCookie, setCookie } from './cookies';
import { field, FormTokens } from './forms';
import { type PageFrame, type PageRenderer } from './pages';
import { PAGE_HEADERS } from './security-headers';

export const STAFF_COOKIE = 'case_intake_staff';
/** Binds the sign-in form's CSRF token to this browser before there is a session. */
const LOGIN_COOKIE = 'case_intake_login';

declare module 'fastify' {
  interface FastifyRequest {
    staff: StaffSession | null;
  }
}

export interface StaffAuthDeps {
  db: Db;
  /** Sign-ins and sign-outs are events worth a line (never the password or the cookie). */
  log: Logger;
  pages: PageRenderer;
  /** Key for CSRF tokens (derived per purpose from LINK_SECRET). */
  secret: string;
  sessionTtlMs: number;
  /** Cookies get `Secure` when the public URL is https (or the proxy says the request was). */
  publicUrl: string;
}

// Failed sign-ins: five per address and twenty per client in fifteen minutes, across processes.
const LOGIN_BY_EMAIL: RateRule = { scope: 'staff_login_email', limit: 5, windowMs: 15 * 60_000 };
const LOGIN_BY_CLIENT: RateRule = { scope: 'staff_login_client', limit: 20, windowMs: 15 * 60_000 };

export class StaffAuth {
  private readonly forms: FormTokens;

  constructor(private readonly deps: StaffAuthDeps) {
    this.forms = new FormTokens(deps.secret, deps.publicUrl, 'staff');
  }

  csrfFor(sessionKey: string): string {
    return this.forms.forSession(sessionKey);
  }

  frame(request: FastifyRequest, section: string): PageFrame {
    const staff = request.staff!;
    return { staffEmail: staff.email, csrf: this.csrfFor(staff.sessionKey), section };
  }

  /** The form's `_csrf` field matches the session's token. */
  csrfOk(request: FastifyRequest): boolean {
    return this.forms.sessionOk(request, request.staff?.sessionKey ?? null);
  }

  /** For long-lived responses (the overview's event stream): is the session still valid now? */
  async stillSignedIn(request: FastifyRequest): Promise<boolean> {
    const token = readCookie(request, STAFF_COOKIE);
    return Boolean(token && (await findStaffSession(this.deps.db, token)));
  }

  /** Loads the session named by the cookie, if any, for every request. */
  register(app: FastifyInstance): void {
    app.decorateRequest('staff', null);
    app.addHook('onRequest', async (request) => {
      const token = readCookie(request, STAFF_COOKIE);
      request.staff = token ? ((await findStaffSession(this.deps.db, token)) ?? null) : null;
    });
    this.registerLogin(app);
  }

  /** For staff pages: no session → the sign-in page, then back; a POST without the token → 403. */
  readonly requirePage = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    if (!request.staff) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return reply.status(401).headers(PAGE_HEADERS).send(this.deps.pages.render('notice', 'Signed out', { heading: 'Please sign in again', message: 'Your session has ended; nothing was changed.', error: true }));
      return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
    }
    return undefined;
  };

  readonly requireCsrf = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    if (request.method === 'POST' && !this.csrfOk(request)) {
      return reply.status(403).headers(PAGE_HEADERS).send(this.deps.pages.render('notice', 'Refused', { heading: 'This form has expired', message: 'The request did not carry this session’s form token, so nothing was changed. Go back, reload the page and try again.', error: true }));
    }
    return undefined;
  };

  /** `error` is the page's; `fieldError` is shown at the password (the password is never shown again). */
  private loginPage(request: FastifyRequest, reply: FastifyReply, status: number, data: { email?: string; error?: string; fieldError?: string; next?: string }) {
    return reply
      .status(status)
      .headers(PAGE_HEADERS)
      .send(this.deps.pages.render('login', 'Sign in', { csrf: this.forms.beforeSession(request, reply, LOGIN_COOKIE, '/login'), email: data.email ?? '', error: data.error ?? null, form: { errors: data.fieldError ? { password: data.fieldError } : {} }, next: safeNext(data.next) }));
  }

  private registerLogin(app: FastifyInstance): void {
    app.get<{ Querystring: { next?: string } }>('/login', async (request, reply) => {
      if (request.staff) return reply.redirect(safeNext(request.query.next), 303);
      return this.loginPage(request, reply, 200, { next: request.query.next });
    });

    app.post<{ Body: Record<string, unknown> }>('/login', async (request, reply) => {
      const form = (name: string) => field(request.body, name);
      const email = form('email').trim().toLowerCase();
      if (!this.forms.beforeSessionOk(request, LOGIN_COOKIE)) {
        return this.loginPage(request, reply, 403, { email, error: 'This form had expired. Please sign in again.', next: form('next') });
      }
      const client = request.ip;
      const emailKey = safeEmailKey(email);
      // Counted before the password is checked, so parallel guesses cannot all slip under the limit;
      // only failed checks stay counted.
      const attempt = await countAttempt(this.deps.db, [{ rule: LOGIN_BY_EMAIL, key: emailKey }, { rule: LOGIN_BY_CLIENT, key: client }]);
      if (attempt.over.length) {
        await refundAttempt(this.deps.db, attempt);
        this.deps.log.warn({ event: 'staff_login_limited', client }, 'staff sign-in refused: too many failed attempts');
        reply.header('retry-after', String(LOGIN_BY_EMAIL.windowMs / 1000));
        return this.loginPage(request, reply, 429, { email, error: 'Too many failed sign-ins. Wait fifteen minutes and try again.', next: form('next') });
      }
      const staff = await checkStaffLogin(this.deps.db, email, form('password'));
      if (!staff) {
        this.deps.log.warn({ event: 'staff_login_failed', client }, 'staff sign-in failed');
        return this.loginPage(request, reply, 401, { email, fieldError: 'That email and password do not match an account.', next: form('next') });
      }
      await forgetAttempts(this.deps.db, LOGIN_BY_EMAIL.scope, emailKey);
      await refundAttempt(this.deps.db, attempt, LOGIN_BY_CLIENT.scope);
      const session = await startStaffSession(this.deps.db, staff.id, this.deps.sessionTtlMs);
      this.deps.log.info({ event: 'staff_login', staff: staff.email }, 'staff signed in');
      setCookie(reply, STAFF_COOKIE, session.token, { path: '/', httpOnly: true, sameSite: 'lax', secure: this.forms.secure(request), expires: session.expiresAt });
      return clearCookie(reply, LOGIN_COOKIE, '/login').redirect(safeNext(form('next')), 303);
    });

    app.post('/logout', { preHandler: [this.requirePage, this.requireCsrf] }, async (request, reply) => {
      const token = readCookie(request, STAFF_COOKIE);
      if (token) await endStaffSession(this.deps.db, token);
      this.deps.log.info({ event: 'staff_logout', staff: request.staff?.email }, 'staff signed out');
      return clearCookie(reply, STAFF_COOKIE, '/').redirect('/login', 303);
    });
  }
}

/** Only our own dashboard paths: never another site, never a protocol-relative `//host`. */
function safeNext(next: string | undefined): string {
  return next && /^\/(dashboard|dev\/mail|api)(\/|\?|$)/.test(next) && !next.startsWith('//') ? next : '/dashboard';
}

function safeEmailKey(email: string): string {
  try {
    return normaliseStaffEmail(email);
  } catch {
    return email.slice(0, 320);
  }
}
