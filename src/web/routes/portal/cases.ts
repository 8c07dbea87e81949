import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { caseReferenceOfAttachment, caseReferenceOfMessage, loadAttachment, loadMessageHtml } from '../../../cases/detail';
import { CASE_STATUSES } from '../../../cases/repository';
import type { CaseStatus } from '../../../db/schema';
import { DomainError } from '../../../errors';
import { pendingApprovalsFor, portalDecide } from '../../../portal/decisions';
import { listVisibleCases, loadVisibleCase, visibleReference } from '../../../portal/visibility';
import { sendAttachment } from '../../attachments';
import { humanBytes, when } from '../../dashboard/words';
import { field } from '../../forms';
import { caseworkView, type PortalCasePage } from './casework';
import { DASHBOARD_HEADERS, MAIL_HTML_HEADERS } from '../../security-headers';
import type { PortalAuth } from '../../portal-auth';
import { customerStatus } from '../../portal-words';
import type { WebDeps } from '../../deps';

const STATUS_CHOICES: Record<CaseStatus, string> = { new: 'being sorted', open: 'open', pending: 'waiting for you', solved: 'solved', closed: 'closed', suspended: 'waiting', ignored: 'not accepted' };

const listQuery = z.object({
  status: z.preprocess((v) => (v === '' ? undefined : v), z.enum(CASE_STATUSES as [CaseStatus, ...CaseStatus[]]).optional()),
  q: z.preprocess((v) => (v === '' ? undefined : v), z.string().max(200).optional()),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
});

/** What a decision's redirect may say on the case page. */
const DECISION_NOTICES: Record<string, { ok: boolean; text: string }> = {
  authorized: { ok: true, text: 'Authorized: they may open cases now, and their waiting cases are open.' },
  ignored: { ok: true, text: 'Ignored: their waiting cases are closed.' },
  already_decided: { ok: false, text: 'Someone decided this request first; nothing was changed.' },
  no_pending_approval: { ok: false, text: 'This case waits for our support team, not for an approval.' },
  not_held: { ok: false, text: 'This case is no longer waiting; nothing was changed.' },
};

const notFound = (reference: string) => new DomainError('not_found', `no case ${reference}`);

const framedPage = (deps: Pick<WebDeps, 'pages'>) => (reply: FastifyReply, name: string, title: string, frame: ReturnType<PortalAuth['frame']>, data: Record<string, unknown>) =>
  reply.headers(DASHBOARD_HEADERS).send(deps.pages.renderFramed('portal/layout', name, title, frame, data));


export function portalCasePage(deps: Pick<PortalCaseDeps, 'db' | 'pages' | 'casework'>, auth: Pick<PortalAuth, 'frame'>): PortalCasePage {
  const page = framedPage(deps);
  return async (request, reply, reference, notice, refused) => {
    const c = await loadVisibleCase(deps.db, request.portal!.person, reference);
    if (!c) throw notFound(reference);
    const approvalPending = c.approval?.status === 'pending';
    const casework = caseworkView(c, deps.casework.reopenWindowMs, notice);
    // A customer sees the conversation and where it stands; not the staff trail or who approves.
    return page(reply.status(refused?.status ?? 200), 'portal/case', `${c.reference}: ${c.subject}`, auth.frame(request, 'cases'), {
      ...casework,
      forms: refused?.forms ?? {},
      notice: (notice ? DECISION_NOTICES[notice] : undefined) ?? casework.notice,
      c: { reference: c.reference, subject: c.subject, requesterEmail: c.requesterEmail, requesterName: c.requesterName, infrastructureName: c.infrastructureName },
      statusWords: customerStatus(c.status, c.holdReason, approvalPending),
      where: [c.companyName, c.infrastructureName].filter(Boolean).join(' / ') || '—',
      created: when(c.createdAt),
      mayDecide: c.mayDecide,
      heldBecause: c.heldBecause,
      participants: c.participants,
      messages: c.messages.map((m, i) => ({
        n: i + 1,
        from: m.from,
        name: m.name,
        subject: m.subject,
        text: m.text,
        written: m.written,
        fromSupport: m.author === 'staff',
        received: when(m.receivedAt),
        htmlUrl: m.hasHtml ? `/portal/messages/${m.id}/html` : null,
        attachments: m.attachments.map((a) => ({ name: a.filename ?? `attachment-${a.id}`, contentType: a.contentType, size: humanBytes(a.size), url: `/portal/attachments/${a.id}` })),
      })),
    });
  };
}

/** What the module uses of the web's dependencies. */
export const PORTAL_CASE_DEPS = ['db', 'pages', 'approvals', 'casework', 'enqueueDeliveries', 'log'] as const;
export type PortalCaseDeps = Pick<WebDeps, (typeof PORTAL_CASE_DEPS)[number]>;

/** Cases the signed-in person may see, their messages and attachments, and held cases' decisions. */
export function registerPortalCaseRoutes(app: FastifyInstance, deps: PortalCaseDeps, auth: PortalAuth): void {
  const page = framedPage(deps);

  app.get('/portal/cases', async (request, reply) => {
    const parsed = listQuery.safeParse(request.query);
    if (!parsed.success) throw new DomainError('invalid_input', 'invalid query', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    const q = parsed.data;
    const result = await listVisibleCases(deps.db, request.portal!.person, { status: q.status, q: q.q }, { page: q.page });
    const link = (n: number) => `/portal/cases?${new URLSearchParams({ ...(q.status ? { status: q.status } : {}), ...(q.q ? { q: q.q } : {}), page: String(n) }).toString()}`;
    return page(reply, 'portal/cases', 'Cases', auth.frame(request, 'cases'), {
      heading: 'Cases',
      total: result.total,
      q: q.q ?? '',
      statuses: CASE_STATUSES.map((s) => ({ value: s, words: STATUS_CHOICES[s], selected: q.status === s })),
      rows: result.rows.map((r) => ({
        ...r,
        words: customerStatus(r.status, r.holdReason, false).split(':')[0],
        where: [r.companyName, r.infrastructureName].filter(Boolean).join(' / ') || '—',
        created: when(r.createdAt),
      })),
      page: result.page,
      pages: result.pages,
      prev: result.page > 1 ? link(result.page - 1) : null,
      next: result.page < result.pages ? link(result.page + 1) : null,
    });
  });

  const show = portalCasePage(deps, auth);
  app.get<{ Params: { reference: string }; Querystring: { notice?: string } }>('/portal/cases/:reference', async (request, reply) => show(request, reply, request.params.reference, request.query.notice));

  app.post<{ Params: { reference: string } }>('/portal/cases/:reference/decision', async (request, reply) => {
    const decision = field(request.body, 'decision');
    if (decision !== 'authorize' && decision !== 'ignore') throw new DomainError('invalid_input', 'decision must be authorize or ignore');
    const person = request.portal!.person;
    const outcome = await portalDecide(deps.approvals, person, request.params.reference, decision);
    deps.log.info({ event: 'portal_decision', case: request.params.reference, person: person.email, decision, outcome: outcome.result }, 'portal decision');
    if (outcome.result === 'not_found') throw notFound(request.params.reference);
    if (outcome.result === 'forbidden') throw new DomainError('forbidden', 'only the administrators of this infrastructure or company can decide it; nothing was changed');
    if (outcome.result === 'decided') await deps.enqueueDeliveries(outcome.outboxIds);
    const notice = outcome.result === 'decided' ? (decision === 'authorize' ? 'authorized' : 'ignored') : outcome.result;
    return reply.redirect(`/portal/cases/${encodeURIComponent(request.params.reference)}?notice=${notice}`, 303);
  });

  app.get('/portal/approvals', async (request, reply) => {
    const rows = await pendingApprovalsFor(deps.db, request.portal!.person);
    return page(reply, 'portal/approvals', 'Approvals', auth.frame(request, 'approvals'), {
      rows: rows.map((r) => ({ ...r, reference: r.firstCaseReference, subject: r.firstCaseSubject, where: `${r.companyName} / ${r.infrastructureName}`, created: when(r.createdAt), expires: when(r.expiresAt) })),
    });
  });

  // A message's HTML and an attachment: only for someone who may see the case; else 404, as for
  // one that does not exist.
  app.get<{ Params: { id: string } }>('/portal/messages/:id/html', async (request, reply) => {
    const reference = await caseReferenceOfMessage(deps.db, request.params.id);
    const html = reference && (await visibleReference(deps.db, request.portal!.person, reference)) ? await loadMessageHtml(deps.db, request.params.id) : undefined;
    if (html === undefined) throw new DomainError('not_found', `no message ${request.params.id}`);
    return reply.headers(MAIL_HTML_HEADERS).send(html);
  });

  app.get<{ Params: { id: string } }>('/portal/attachments/:id', async (request, reply) => {
    const reference = await caseReferenceOfAttachment(deps.db, request.params.id);
    const a = reference && (await visibleReference(deps.db, request.portal!.person, reference)) ? await loadAttachment(deps.db, request.params.id) : undefined;
    if (!a) throw new DomainError('not_found', `no attachment ${request.params.id}`);
    return sendAttachment(reply, request.params.id, a);
  });
}
