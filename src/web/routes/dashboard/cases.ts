import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { resendApprovalRequest, routeCase, staffDecideCase, type StaffActionOutcome } from '../../../approvals/staff-actions';
import { loadAttachment, loadCaseDetail, loadMessageHtml } from '../../../cases/detail';
import { listFilterOptions } from '../../../cases/search';
import { loadCaseWork } from '../../../cases/work-view';
import { DomainError } from '../../../errors';
import { listStaff } from '../../../staff/accounts';
import { recordCaseView } from '../../../staff/case-views';
import { caseDetailData, NOTICES } from '../../dashboard/case-views';
import { caseworkData } from '../../dashboard/casework-view';
import { sendAttachment } from '../../attachments';
import { field, type FormEcho } from '../../forms';
import { DASHBOARD_HEADERS, MAIL_HTML_HEADERS } from '../../security-headers';
import type { WebDeps } from '../../deps';
import type { StaffAuth } from '../../staff-auth';

/** What the module uses of the web's dependencies. */
export const CASE_DEPS = ['db', 'pages', 'approvals', 'enqueueDeliveries', 'log'] as const;
export type CaseDeps = Pick<WebDeps, (typeof CASE_DEPS)[number]>;

/** Sends a case's page: `refused` is a form that was refused, shown again as typed with its problems (by form: reply, note). */
export type CasePage = (request: FastifyRequest, reply: FastifyReply, reference: string, notice?: string, refused?: { status: number; forms: Record<string, FormEcho> }) => Promise<FastifyReply>;

export function casePage(deps: Pick<CaseDeps, 'db' | 'pages'>, auth: Pick<StaffAuth, 'frame'>): CasePage {
  return async (request, reply, reference, notice, refused) => {
    const detail = await loadCaseDetail(deps.db, reference);
    if (!detail) throw new DomainError('not_found', `no case ${reference}`);
    const [options, work, staff] = await Promise.all([listFilterOptions(deps.db), loadCaseWork(deps.db, detail.id), listStaff(deps.db)]);
    if (!work) throw new DomainError('not_found', `no case ${reference}`);
    const data = { ...caseDetailData(detail, options, notice), ...caseworkData(detail, work, staff.map((s) => s.email), request.staff!.email), forms: refused?.forms ?? {} };
    return reply
      .status(refused?.status ?? 200)
      .headers(DASHBOARD_HEADERS)
      .send(deps.pages.renderDashboard('dashboard/case', `${detail.reference}: ${detail.subject}`, auth.frame(request, 'cases'), data));
  };
}

export function registerCaseRoutes(app: FastifyInstance, deps: CaseDeps, auth: StaffAuth): void {
  const show = casePage(deps, auth);
  app.get<{ Params: { reference: string }; Querystring: { notice?: string } }>('/dashboard/cases/:reference', async (request, reply) => {
    await recordCaseView(deps.db, request.staff!.id, request.params.reference);
    return show(request, reply, request.params.reference, request.query.notice);
  });

  // A message's own HTML, for the sandboxed frame on the case page (see MAIL_HTML_HEADERS).
  app.get<{ Params: { id: string } }>('/dashboard/messages/:id/html', async (request, reply) => {
    const html = await loadMessageHtml(deps.db, request.params.id);
    if (html === undefined) throw new DomainError('not_found', `no HTML body for message ${request.params.id}`);
    return reply.headers(MAIL_HTML_HEADERS).send(html);
  });

  // Attachments always download (never render in our origin), under the name the sender gave.
  app.get<{ Params: { id: string } }>('/dashboard/attachments/:id', async (request, reply) => {
    const a = await loadAttachment(deps.db, request.params.id);
    if (!a) throw new DomainError('not_found', `no attachment ${request.params.id}`);
    return sendAttachment(reply, request.params.id, a);
  });

  /** Every action answers with the case page again (post/redirect/get), saying what happened. */
  async function act(request: FastifyRequest, reply: FastifyReply, reference: string, work: (caseId: string) => Promise<StaffActionOutcome>) {
    const found = await deps.db.selectFrom('cases').select('id').where('reference', '=', reference).executeTakeFirst();
    if (!found) throw new DomainError('not_found', `no case ${reference}`);
    const outcome = await work(found.id);
    await deps.enqueueDeliveries(outcome.outboxIds);
    const notice = outcome.result === 'done' ? outcome.action : outcome.result === 'capped' ? 'capped' : outcome.reason;
    deps.log.info({ event: 'staff_action', case: reference, staff: request.staff?.email, outcome: notice }, 'staff acted on a case');
    return reply.redirect(`/dashboard/cases/${encodeURIComponent(reference)}?notice=${notice in NOTICES ? notice : 'done'}`, 303);
  }

  app.post<{ Params: { reference: string } }>('/dashboard/cases/:reference/resend', async (request, reply) =>
    act(request, reply, request.params.reference, (id) => resendApprovalRequest(deps.approvals, id, request.staff!.email)),
  );

  app.post<{ Params: { reference: string } }>('/dashboard/cases/:reference/decision', async (request, reply) => {
    const decision = field(request.body, 'decision');
    if (decision !== 'authorize' && decision !== 'ignore') throw new DomainError('invalid_input', 'decision must be authorize or ignore');
    return act(request, reply, request.params.reference, (id) => staffDecideCase(deps.approvals, id, decision, request.staff!.email, field(request.body, 'reason')));
  });

  app.post<{ Params: { reference: string } }>('/dashboard/cases/:reference/route', async (request, reply) =>
    act(request, reply, request.params.reference, (id) => routeCase(deps.approvals, id, field(request.body, 'infrastructure'), request.staff!.email, field(request.body, 'reason') || undefined)),
  );
}
