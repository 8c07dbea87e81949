import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApprovalDeps } from '../../approvals/context';
import { decideApproval, type ApprovalChoice } from '../../approvals/decide';
import { verifyApprovalToken } from '../../approvals/tokens';
import { loadApprovalView, type ApprovalView } from '../../approvals/views';
import { type PageData, type PageRenderer } from '../pages';
import { PAGE_HEADERS } from '../security-headers';
import { when } from '../dashboard/words';

/** What the module uses of the web's dependencies. */
export const APPROVAL_ROUTE_DEPS = ['approvals', 'pages', 'enqueueDeliveries'] as const;
export interface ApprovalRouteDeps {
  approvals: ApprovalDeps;
  pages: PageRenderer;
  /** Queues the mail a committed decision wrote. */
  enqueueDeliveries(outboxIds: string[]): Promise<void>;
}

const CHANNEL_WORDS: Record<string, string> = { link: 'through the emailed link', reply: 'by replying to the email', portal: 'in the support portal', staff: 'through support staff', expiry: 'by expiry', team: 'by giving them access on the support portal’s team page', import: 'by a directory import that gave them access' };
const OUTCOME_WORDS: Record<string, string> = { authorized: 'Authorized.', ignored: 'Ignored.', expired: 'This request expired without a decision.' };

/**
 * What an approver who opens a link after its request expired can still do: the cases stay held,
 * and administrators decide them in the portal (where they sign in with their own address).
 */
export function expiredWords(publicUrl: string): string {
  return `Nobody answered this approval request in time, so the link no longer decides it. The case is still held: as an administrator of the company, you can still authorize or ignore it in the support portal, under Approvals: ${publicUrl.replace(/\/$/, '')}/portal/approvals (sign in with your email address). If the person writes again, a new request is sent.`;
}

type Verified = { ok: true; approverId: string; view: ApprovalView } | { ok: false; status: number; heading: string; message: string };

/**
 * The approval link. GET and HEAD only show the request (mail scanners open every link); the
 * buttons POST to the same URL. A bad, tampered or unknown token and an expired one get a clear
 * page and a 4xx, and change nothing.
 */
export function registerApprovalRoutes(app: FastifyInstance, deps: ApprovalRouteDeps): void {
  const { approvals, pages } = deps;

  const page = (reply: FastifyReply, status: number, name: string, title: string, data: PageData) =>
    reply.status(status).headers(PAGE_HEADERS).send(pages.render(name, title, data));
  const notice = (reply: FastifyReply, status: number, heading: string, message: string) => page(reply, status, 'notice', heading, { heading, message, error: status >= 400 });

  async function verify(token: string): Promise<Verified> {
    const check = verifyApprovalToken(token, [approvals.settings.linkSecret, approvals.settings.linkSecretPrevious]);
    if (!check.ok && check.reason === 'expired') {
      return { ok: false, status: 410, heading: 'This link has expired', message: expiredWords(approvals.settings.publicUrl) };
    }
    const view = check.ok ? await loadApprovalView(approvals.db, check.claims.approvalId) : undefined;
    if (!check.ok || !view) return { ok: false, status: 404, heading: 'This link is not valid', message: 'The link is incomplete, was changed, or belongs to no request. Open it again from the email, in full.' };
    return { ok: true, approverId: check.claims.approverId, view };
  }

  function showRequest(reply: FastifyReply, token: string, view: ApprovalView, chosen: string | undefined, status = 200) {
    const c = view.firstCase;
    return page(reply, status, 'approval', `Approval for ${view.requester}`, {
      pending: view.status === 'pending',
      expired: view.status === 'expired',
      expiredWords: expiredWords(approvals.settings.publicUrl),
      requester: view.requester,
      requesterName: c.view.requesterName,
      reference: c.reference,
      subject: c.view.subject,
      excerpt: c.view.excerpt,
      infrastructure: c.infrastructure?.name ?? '',
      company: c.infrastructure?.companyName ?? '',
      receivedAt: c.view.receivedAt,
      waiting: view.waiting,
      action: `/approvals/${token}`,
      chooseAuthorize: chosen === 'authorize',
      chooseIgnore: chosen === 'ignore',
      expiresAt: when(view.expiresAt),
      outcome: OUTCOME_WORDS[view.status] ?? view.status,
      decidedBy: view.decidedBy ?? '',
      channel: CHANNEL_WORDS[view.channel ?? ''] ?? '',
      decidedAt: view.decidedAt ? when(view.decidedAt) : '',
    });
  }

  app.get<{ Params: { token: string }; Querystring: { decision?: string } }>('/approvals/:token', async (request, reply) => {
    const v = await verify(request.params.token);
    if (!v.ok) return notice(reply, v.status, v.heading, v.message);
    return showRequest(reply, request.params.token, v.view, request.query.decision);
  });

  app.post<{ Params: { token: string }; Body: { decision?: string } }>('/approvals/:token', async (request, reply) => {
    const v = await verify(request.params.token);
    if (!v.ok) return notice(reply, v.status, v.heading, v.message);
    const decision = request.body?.decision;
    if (decision !== 'authorize' && decision !== 'ignore') return notice(reply, 400, 'Choose Authorize or Ignore', 'The form did not say which. Go back and press one of the two buttons.');
    const approver = await approvals.db.selectFrom('approval_approvers').select('email').where('approval_id', '=', v.view.approvalId).where('contact_id', '=', v.approverId).executeTakeFirst();
    if (!approver) return notice(reply, 404, 'This link is not valid', 'The link belongs to no approver of this request.');
    const outcome = await decideApproval(approvals, { approvalId: v.view.approvalId, decision: decision as ApprovalChoice, channel: 'link', actor: approver.email, approverContactId: v.approverId });
    if (outcome.result === 'not_approver') return notice(reply, 403, 'You can no longer decide this', 'You are no longer an administrator for this infrastructure, so this link cannot decide the request.');
    if (outcome.result === 'decided') await deps.enqueueDeliveries(outcome.outboxIds);
    const after = await loadApprovalView(approvals.db, v.view.approvalId);
    // A later POST is answered 409 and shows who decided first; it changes nothing.
    return showRequest(reply, request.params.token, after ?? v.view, undefined, outcome.result === 'decided' ? 200 : 409);
  });
}
