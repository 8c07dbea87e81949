import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { commentOnCase, escalateCase } from '../../../cases/customer-side';
import { isWorkable } from '../../../cases/lifecycle';
import type { CaseStatus } from '../../../db/schema';
import { DomainError } from '../../../errors';
import { personName } from '../../../portal/people';
import { loadVisibleCase, mayEscalate, visibleReference, type PortalCaseView } from '../../../portal/visibility';
import { ago, when } from '../../dashboard/words';
import { field, orShowAgain, type FormEcho } from '../../forms';
import type { WebDeps } from '../../deps';

/** Sends a case's page; `refused` is a form that was refused, shown again as typed with its problems (by form: comment, escalation). */
export type PortalCasePage = (request: FastifyRequest, reply: FastifyReply, reference: string, notice?: string, refused?: { status: number; forms: Record<string, FormEcho> }) => Promise<FastifyReply>;

/**
 * The customer's side of a worked case in the portal: comments (with files) and escalation.
 * Both act only on a case the person may see (404 otherwise, as for one that does not exist);
 * the rules are cases/customer-side.ts's, who may escalate is portal/visibility.ts's.
 */

/** A comment is typed by a person: far below the 256 KiB a multipart field may carry. */
const MAX_COMMENT = 50_000;

const commentForm = z.object({
  text: z.string().max(MAX_COMMENT, `text: at most ${MAX_COMMENT} characters`),
});

/** What a comment's or an escalation's redirect may say on the case page. */
export const CASEWORK_NOTICES: Record<string, { ok: boolean; text: string }> = {
  commented: { ok: true, text: 'Your comment was added to the case.' },
  escalated: { ok: true, text: 'Escalated: our support team has been told and will handle this case first.' },
};

const notFound = (reference: string) => new DomainError('not_found', `no case ${reference}`);

/** A duration as a customer reads it: "7 days", else as the dashboard says it. */
function windowWords(ms: number): string {
  const days = ms / 86_400_000;
  return Number.isInteger(days) ? `${days} ${days === 1 ? 'day' : 'days'}` : ago(ms / 1000);
}

function commentHint(status: CaseStatus, reopenWindowMs: number): string {
  const later = `if it was solved or closed more than ${windowWords(reopenWindowMs)} ago, your comment starts a new case that follows this one`;
  switch (status) {
    case 'pending':
      return 'We are waiting for your answer: your comment opens the case again.';
    case 'solved':
      return `Not solved after all? Your comment opens the case again (${later}).`;
    case 'closed':
      return `Your comment opens the case again (${later}).`;
    default:
      return 'Your comment joins the conversation; our support team sees it and answers by email.';
  }
}

/**
 * What the case page shows of comments, escalation and follow-ups. The follow-up cases come from
 * the case's own `followed_up` events, never from the address bar: a link cannot make the page
 * name a case that does not follow this one.
 */
export function caseworkView(c: PortalCaseView, reopenWindowMs: number, notice: string | undefined) {
  const followUps = c.trail.filter((e) => e.source === 'case_event' && e.action === 'followed_up' && typeof e.detail.reference === 'string').map((e) => String(e.detail.reference));
  const latest = followUps[followUps.length - 1];
  const followNotice =
    notice === 'followed_up' && latest
      ? { ok: true, text: `This case was solved or closed more than ${windowWords(reopenWindowMs)} ago, so your comment started a new case, ${latest}, that follows it. We confirm it by email and answer you there.` }
      : null;
  return {
    notice: followNotice ?? (notice ? CASEWORK_NOTICES[notice] : undefined) ?? null,
    mayComment: isWorkable(c.status),
    commentHint: commentHint(c.status, reopenWindowMs),
    maxComment: MAX_COMMENT,
    offersEscalation: c.offersEscalation,
    escalated: c.escalatedAt ? when(c.escalatedAt) : null,
    followUps,
  };
}

/** What the module uses of the web's dependencies. */
export const PORTAL_CASEWORK_DEPS = ['db', 'casework', 'enqueueDeliveries', 'matchLater', 'log'] as const;
export type PortalCaseworkDeps = Pick<WebDeps, (typeof PORTAL_CASEWORK_DEPS)[number]>;

export function registerPortalCaseworkRoutes(app: FastifyInstance, deps: PortalCaseworkDeps, show: PortalCasePage): void {
  const back = (reference: string, notice: string) => `/portal/cases/${encodeURIComponent(reference)}?notice=${notice}`;
  /** A refused comment or escalation: the case page again, the text as typed. */
  const refused = (request: FastifyRequest<{ Params: { reference: string } }>, reply: FastifyReply, form: 'comment' | 'escalation') => (echo: FormEcho) => show(request, reply, request.params.reference, undefined, { status: 400, forms: { [form]: echo } });

  app.post<{ Params: { reference: string } }>('/portal/cases/:reference/comments', async (request, reply) => orShowAgain(request.body, 'text', async () => {
    const person = request.portal!.person;
    const reference = await visibleReference(deps.db, person, request.params.reference);
    if (!reference) throw notFound(request.params.reference);
    const parsed = commentForm.safeParse({ text: field(request.body, 'text') });
    if (!parsed.success) throw new DomainError('invalid_input', parsed.error.issues.map((i) => i.message).join('; '));
    let outcome;
    try {
      outcome = await commentOnCase(deps.casework, reference, { email: person.email, name: personName(person) }, parsed.data.text, request.uploads);
    } catch (err) {
      // The one conflict a comment meets is a case not worked yet: say it in a customer's words.
      if (err instanceof DomainError && err.code === 'conflict') throw new DomainError('conflict', `${reference} cannot take comments yet: it is waiting for an approval or for our support team to sort it. Nothing was saved.`);
      throw err;
    }
    deps.log.info({ event: 'portal_comment', case: reference, person: person.email, outcome: outcome.result, attachments: request.uploads.length }, 'portal comment');
    if (outcome.result === 'follow_up') {
      // Matched and gated like any new case; if queueing fails it stays `new` and the recovery sweep queues it.
      await deps.matchLater([outcome.caseId]);
      return reply.redirect(back(reference, 'followed_up'), 303);
    }
    return reply.redirect(back(reference, 'commented'), 303);
  }, refused(request, reply, 'comment')));

  app.post<{ Params: { reference: string } }>('/portal/cases/:reference/escalation', async (request, reply) => {
    const person = request.portal!.person;
    const c = await loadVisibleCase(deps.db, person, request.params.reference);
    if (!c) throw notFound(request.params.reference);
    if (!mayEscalate(person, c)) throw new DomainError('forbidden', 'only the person who opened this case, or an administrator of its company or infrastructure, can escalate it; nothing was changed');
    return orShowAgain(request.body, 'reason', async () => {
      const { outboxIds } = await escalateCase(deps.casework, c.reference, { email: person.email, name: personName(person) }, field(request.body, 'reason'));
      deps.log.info({ event: 'portal_escalation', case: c.reference, person: person.email }, 'portal escalation');
      await deps.enqueueDeliveries(outboxIds);
      return reply.redirect(back(c.reference, 'escalated'), 303);
    }, refused(request, reply, 'escalation'));
  });
}
