import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { loadPerson, personName, type PortalPerson } from '../portal/people';
import { endPortalSession, findPortalSession, startPortalSession, type PortalSession } from '../portal/sessions';
import { completeSignIn, countSignInRequest, mailSignInLink, type PortalMailDeps } from '../portal/sign-in';
import { checkSignInLink } from '../portal/links';
import { adminCompanies, administeredInfrastructures } from '../portal/visibility';
import { errorMessage } from '../errors';
import { clearCookie, readCookie, setCookie } from './cookies';
import { field, FormTokens } from './forms';
import { type PageRenderer, type PortalFrame } from './pages';

const ADDRESS = z.email().max(254);
import { PAGE_HEADERS } from './security-headers';

export const PORTAL_COOKIE = 'case_intake_portal';
const LINK_FORM_COOKIE = 'case_intake_portal_login';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in customer and what the directory says of them now; null when signed out. */
    portal: { session: PortalSession; person: PortalPerson } | null;
  }
}

export interface PortalAuthDeps extends PortalMailDeps {
  log: Logger;
  /** Signs the forms' tokens. */
  linkSecret: string;
  pages: PageRenderer;
  linkTtlMs: number;
  sessionTtlMs: number;
  enqueueDeliveries(outboxIds: string[]): Promise<void>;
}

/**
 * Customers sign in without a password: a one-time link by mail. Opening the link changes
 * nothing (mail scanners open every link); its page's button does.
 */
export class PortalAuth {
  private readonly forms: FormTokens;
  /** Sign-in mails being written after their answer. */
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: PortalAuthDeps) {
    this.forms = new FormTokens(deps.linkSecret, deps.publicUrl, 'portal');
  }

  private get db() {
    return this.deps.db;
  }

  frame(request: FastifyRequest, section: string): PortalFrame {
    const { session, person } = request.portal!;
    // Company admins and infrastructure administrators decide requests and manage their team.
    const manages = adminCompanies(person).length > 0 || administeredInfrastructures(person).length > 0;
    return {
      email: person.email,
      name: personName(person),
      csrf: this.forms.forSession(session.sessionKey),
      section,
      manages,
    };
  }

  private notice(reply: FastifyReply, status: number, heading: string, message: string) {
    return reply.status(status).headers(PAGE_HEADERS).send(this.deps.pages.render('notice', heading, { heading, message, error: status >= 400 }));
  }

  /** For every /portal route: who is signed in, read from the directory now. */
  readonly loadSession = async (request: FastifyRequest): Promise<void> => {
    const token = readCookie(request, PORTAL_COOKIE);
    const session = token ? await findPortalSession(this.db, token) : undefined;
    request.portal = session ? { session, person: await loadPerson(this.db, session.email) } : null;
  };

  readonly requireSignedIn = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    if (request.portal) return undefined;
    if (request.method === 'GET' || request.method === 'HEAD') return reply.redirect('/portal/login', 303);
    return this.notice(reply, 401, 'Please sign in again', 'Your session has ended; nothing was changed.');
  };

  readonly requireCsrf = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    if (request.method !== 'POST' || this.forms.sessionOk(request, request.portal?.session.sessionKey ?? null)) return undefined;
    return this.notice(reply, 403, 'This form has expired', 'The request did not carry this session’s form token, so nothing was changed. Go back, reload the page and try again.');
  };

  /**
   * Runs `task` once the answer has gone out, so its time is not the answer's; a stopping server
   * waits for the tasks still running. A failure is logged; the person can ask again.
   */
  private afterAnswer(reply: FastifyReply, task: () => Promise<unknown>): void {
    reply.raw.once('close', () => {
      const running: Promise<void> = task().then(
        () => undefined,
        (err: unknown) => this.deps.log.warn({ err: errorMessage(err) }, 'could not mail a portal sign-in link'),
      );
      this.running.add(running);
      void running.finally(() => this.running.delete(running));
    });
  }

  /** The sign-in routes, open to all (inside the /portal scope, before the signed-in guard). */
  registerSignIn(app: FastifyInstance): void {
    app.addHook('onClose', async () => {
      await Promise.all([...this.running]);
    });
    const loginPage = (request: FastifyRequest, reply: FastifyReply, status: number, data: { email?: string; error?: string; emailError?: string; sent?: boolean }) =>
      reply
        .status(status)
        .headers(PAGE_HEADERS)
        .send(this.deps.pages.render('portal/login', 'Sign in', { csrf: this.forms.beforeSession(request, reply, LINK_FORM_COOKIE, '/portal/login'), email: data.email ?? '', error: data.error ?? null, form: { errors: data.emailError ? { email: data.emailError } : {} }, sent: data.sent ?? false, validMinutes: Math.round(this.deps.linkTtlMs / 60_000) }));

    app.get('/portal/login', async (request, reply) => (request.portal ? reply.redirect('/portal', 303) : loginPage(request, reply, 200, {})));

    app.post('/portal/login', async (request, reply) => {
      const email = field(request.body, 'email').trim();
      if (!this.forms.beforeSessionOk(request, LINK_FORM_COOKIE)) return loginPage(request, reply, 403, { email, error: 'This form had expired. Please try again.' });
      // Said of any text that is no address, on file or not: it tells nobody who has an account.
      if (!ADDRESS.safeParse(email).success) return loginPage(request, reply, 400, { email, emailError: 'Enter the email address you write to support from, such as name@company.com.' });
      const outcome = await countSignInRequest(this.db, email, request.ip);
      if (outcome.result === 'client_limited') {
        reply.header('retry-after', '900');
        return loginPage(request, reply, 429, { email, error: 'Too many sign-in requests from here. Wait fifteen minutes and try again.' });
      }
      const address = outcome.mayMail;
      if (address) this.afterAnswer(reply, async () => this.deps.enqueueDeliveries(await mailSignInLink(this.deps, address, this.deps.linkTtlMs)));
      // The same page, status and work whether or not the address is on file.
      return loginPage(request, reply, 200, { email, sent: true });
    });

    const linkProblem = (reply: FastifyReply, reason: 'unknown' | 'used' | 'expired') =>
      reason === 'unknown'
        ? this.notice(reply, 404, 'This link is not valid', 'The link is incomplete or was changed. Open it again from the email, in full, or ask for a new one at /portal/login.')
        : this.notice(reply, 410, reason === 'used' ? 'This link was already used' : 'This link has expired', 'Sign-in links work once and for a short time. Ask for a new one at /portal/login.');

    app.get<{ Params: { token: string } }>('/portal/login/:token', async (request, reply) => {
      const check = await checkSignInLink(this.db, request.params.token);
      if (!check.ok) return linkProblem(reply, check.reason);
      return reply
        .headers(PAGE_HEADERS)
        .send(this.deps.pages.render('portal/link', 'Sign in', { email: check.email, action: `/portal/login/${request.params.token}`, csrf: this.forms.beforeSession(request, reply, LINK_FORM_COOKIE, '/portal/login') }));
    });

    app.post<{ Params: { token: string } }>('/portal/login/:token', async (request, reply) => {
      if (!this.forms.beforeSessionOk(request, LINK_FORM_COOKIE)) return this.notice(reply, 403, 'This form has expired', 'Open the link from the email again and press Sign in.');
      const used = await completeSignIn(this.db, request.params.token);
      if (!used.ok) return linkProblem(reply, used.reason);
      const session = await startPortalSession(this.db, used.email, this.deps.sessionTtlMs);
      this.deps.log.info({ event: 'portal_login', person: used.email }, 'customer signed in to the portal');
      setCookie(reply, PORTAL_COOKIE, session.token, { path: '/portal', httpOnly: true, sameSite: 'lax', secure: this.forms.secure(request), expires: session.expiresAt });
      return clearCookie(reply, LINK_FORM_COOKIE, '/portal/login').redirect('/portal', 303);
    });
  }

  registerSignOut(app: FastifyInstance): void {
    app.post('/portal/logout', async (request, reply) => {
      const token = readCookie(request, PORTAL_COOKIE);
      if (token) await endPortalSession(this.db, token);
      this.deps.log.info({ event: 'portal_logout', person: request.portal?.person.email }, 'customer signed out of the portal');
      return clearCookie(reply, PORTAL_COOKIE, '/portal').redirect('/portal/login', 303);
    });
  }
}
