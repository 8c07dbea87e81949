import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type DomainErrorCode } from '../errors';
import type { ErrorFrame, PageRenderer } from './pages';
import { PAGE_HEADERS } from './security-headers';
import { uploadRefused } from './uploads';

const STATUS_BY_CODE: Record<DomainErrorCode, number> = { invalid_input: 400, forbidden: 403, not_found: 404, conflict: 409, unavailable: 503 };

/** Machines' answers stay JSON (or plain) whatever the client accepts: the API, the probes, the scrape, Bull Board's own API. */
const MACHINE_PATHS = /^\/(api|metrics|healthz|readyz|dashboard\/queues\/api)(\/|\?|$)/;
/** People's pages: an error here is a page even for a client that did not say it takes HTML (a form post, a link from a mail). */
const PAGE_PATHS = /^\/(dashboard|portal|approvals|login|logout|dev)(\/|\?|$)/;

/** The frame of the app a path belongs to; null when the answer is for a machine (JSON as always). */
export function errorFrame(url: string, accept: string | undefined): ErrorFrame | null {
  if (MACHINE_PATHS.test(url)) return null;
  if (!PAGE_PATHS.test(url) && !/\btext\/html\b/i.test(accept ?? '')) return null;
  if (/^\/dashboard(\/|\?|$)/.test(url)) return 'dashboard';
  if (/^\/portal(\/|\?|$)/.test(url)) return 'portal';
  return 'public';
}

const HEADINGS: Record<number, string> = { 400: 'That did not work', 403: 'Not allowed', 404: 'Not found', 409: 'Cannot do that', 413: 'That is too large', 503: 'Not available right now' };
/** What a page says for a refusal whose own message is Fastify's or a library's, not ours. */
const GENERIC: Record<number, string> = {
  400: 'The request could not be read. Go back, reload the page and try again.',
  404: 'There is no page at this address. Check the link, or start again from the first page.',
  413: 'What was sent is larger than we accept.',
};

interface Answer {
  status: number;
  /** The JSON body, as the API has always answered. */
  json: Record<string, unknown>;
  /** What a person reads: our own words only (a DomainError's, or generic ones by status). */
  message: string;
  logged: boolean;
}

function answerFor(thrown: unknown, request: FastifyRequest): Answer {
  const err = uploadRefused(thrown) ?? thrown;
  if (err instanceof DomainError) {
    const status = STATUS_BY_CODE[err.code];
    return { status, json: { error: err.code, message: err.message }, message: err.message, logged: false };
  }
  const status = (err as { statusCode?: number }).statusCode;
  if (status && status < 500) return { status, json: { error: 'bad_request', message: (err as Error).message }, message: GENERIC[status] ?? GENERIC[400]!, logged: false };
  return { status: 500, json: { error: 'internal', message: `internal error (request ${request.id})` }, message: 'Something went wrong on our side, and nothing was changed by it as far as we know. Try again in a moment.', logged: true };
}

function sendPage(reply: FastifyReply, pages: PageRenderer, frame: ErrorFrame, status: number, message: string, requestId?: string) {
  return reply.status(status).headers(PAGE_HEADERS).send(pages.renderError(frame, status, { heading: HEADINGS[status] ?? (status >= 500 ? 'Something went wrong' : 'That did not work'), message, requestId }));
}

/**
 * Errors and unknown addresses: a page inside the app's frame for a person (the dashboard's, the
 * portal's, the public one), the JSON the API has always given for a machine. A 500 is logged
 * with its request id, which the page shows; its message and stack never leave the server.
 */
export function registerErrorPages(app: FastifyInstance, pages: PageRenderer): void {
  app.setErrorHandler((thrown: FastifyError, request, reply) => {
    const answer = answerFor(thrown, request);
    if (answer.logged) request.log.error({ err: thrown, reqId: request.id }, 'unhandled error');
    const frame = errorFrame(request.url, request.headers.accept);
    if (frame) return sendPage(reply, pages, frame, answer.status, answer.message, answer.logged ? request.id : undefined);
    return reply.status(answer.status).send(answer.json);
  });
  app.setNotFoundHandler((request, reply) => {
    const frame = errorFrame(request.url, request.headers.accept);
    if (frame) return sendPage(reply, pages, frame, 404, GENERIC[404]!);
    // Fastify's own answer, word for word, as the API has always had it.
    return reply.status(404).send({ message: `Route ${request.method}:${request.url} not found`, error: 'Not Found', statusCode: 404 });
  });
}
