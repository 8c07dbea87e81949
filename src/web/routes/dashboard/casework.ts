/**
 * Staff work a case from its page: reply (with files, optionally setting pending or solved), write
 * an internal note, assign it, set its status. The domain (cases/work.ts) decides and writes each
 * change in one transaction, refusing a reply or status on a case that has not passed the gate;
 * every form answers with the case page again (post/redirect/get) and a notice.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { addNote, changeCase, replyToCase } from '../../../cases/work';
import type { Actor } from '../../../cases/work-common';
import { afterReply, caseText, parseInput, workStatus } from '../../casework';
import { orShowAgain, type FormEcho } from '../../forms';
import type { CasePage } from './cases';
import type { WebDeps } from '../../deps';

// Fields arrive as plain strings (urlencoded or multipart, see uploads.ts); `_csrf` is stripped.
const replyForm = z.object({
  text: caseText,
  // The submit button pressed: "Send reply", "Send and set pending", "Send and set solved".
  status: z.enum(['', 'pending', 'solved']).optional(),
  // A ticked checkbox sends its value; an unticked one sends nothing.
  copy_participants: z.literal('yes').optional(),
});
const noteForm = z.object({ text: caseText });
const assigneeForm = z.object({ assignee: z.string().trim() });
const statusForm = z.object({ status: workStatus });

type Params = { Params: { reference: string } };

/** What the module uses of the web's dependencies. */
export const DASHBOARD_CASEWORK_DEPS = ['casework', 'enqueueDeliveries', 'onFirstResponse', 'log'] as const;
export type DashboardCaseworkDeps = Pick<WebDeps, (typeof DASHBOARD_CASEWORK_DEPS)[number]>;

export function registerCaseworkRoutes(app: FastifyInstance, deps: DashboardCaseworkDeps, show: CasePage): void {
  const actor = (request: FastifyRequest): Actor => ({ email: request.staff!.email, channel: 'dashboard' });

  /** A refused reply or note: the case page again, the text as typed. */
  const refused = (request: FastifyRequest<Params>, reply: FastifyReply, form: 'reply' | 'note') => (echo: FormEcho) => show(request, reply, request.params.reference, undefined, { status: 400, forms: { [form]: echo } });

  function done(request: FastifyRequest<Params>, reply: FastifyReply, notice: string) {
    deps.log.info({ event: 'staff_casework', case: request.params.reference, staff: request.staff?.email, outcome: notice }, 'staff worked a case');
    return reply.redirect(`/dashboard/cases/${encodeURIComponent(request.params.reference)}?notice=${notice}`, 303);
  }

  app.post<Params>('/dashboard/cases/:reference/replies', async (request, reply) => orShowAgain(request.body, 'text', async () => {
    const form = parseInput(replyForm, request.body);
    const outcome = await replyToCase(
      deps.casework,
      request.params.reference,
      { text: form.text, status: form.status || undefined, copyParticipants: form.copy_participants === 'yes', attachments: request.uploads },
      actor(request),
    );
    await afterReply(deps, outcome);
    return done(request, reply, 'replied');
  }, refused(request, reply, 'reply')));

  app.post<Params>('/dashboard/cases/:reference/notes', async (request, reply) => orShowAgain(request.body, 'text', async () => {
    const form = parseInput(noteForm, request.body);
    await addNote(deps.casework, request.params.reference, form.text, actor(request));
    return done(request, reply, 'noted');
  }, refused(request, reply, 'note')));

  app.post<Params>('/dashboard/cases/:reference/assignee', async (request, reply) => {
    const form = parseInput(assigneeForm, request.body);
    const outcome = await changeCase(deps.casework, request.params.reference, { assignee: form.assignee || null }, actor(request));
    return done(request, reply, outcome.assigned ? 'assigned' : 'unchanged');
  });

  app.post<Params>('/dashboard/cases/:reference/status', async (request, reply) => {
    const form = parseInput(statusForm, request.body);
    const outcome = await changeCase(deps.casework, request.params.reference, { status: form.status }, actor(request));
    await deps.enqueueDeliveries(outcome.outboxIds);
    return done(request, reply, outcome.status ? 'status_changed' : 'unchanged');
  });
}
