import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../errors';
import type { PortalPerson } from '../../../portal/people';
import { adminCompanies, administeredInfrastructures } from '../../../portal/visibility';
import { loadTeam, parseMemberForm, removeMember, ROLE_CHOICES, saveMember, TEAM_REFUSAL_STATUS, type MemberForm, type TeamOutcome, type TeamRefusal, type TeamView } from '../../../portal/team';
import { mac, sameText } from '../../../security/signing';
import { field, fieldErrors, formEcho, type FormEcho } from '../../forms';
import { DASHBOARD_HEADERS } from '../../security-headers';
import type { PortalAuth } from '../../portal-auth';
import type { WebDeps } from '../../deps';

const SAVED: Record<string, string> = { added: 'Added. They get an invitation by mail.', saved: 'Saved.', removed: 'Removed. Their later mail is held like a stranger’s; their cases stay as they are.' };

/** What the page says after adding someone: what they may now do, by the rule matching applies to their mail. */
function addedMessage(team: TeamView, email: string | undefined, released: string): string {
  const added = team.contacts.find((c) => c.email === email);
  if (!added) return SAVED.added! + released;
  if (!added.mayOpenCasesOn.length) return `Added ${added.email}. They get an invitation by mail. With no role they may not open cases yet: their mail is held for an administrator’s approval until someone gives them a role.`;
  return `Added ${added.email}. They get an invitation by mail and may open cases at once on ${added.mayOpenCasesOn.join(', ')}.${released}`;
}

/** The redirect's message parameters, as `outcomeSignature` signs them. */
interface Outcome {
  company: string;
  done: string;
  member?: string;
  released?: string;
}

/**
 * The page says "Added …, N held cases were released" only on the redirect that followed the
 * change: its parameters are signed for the person who made it, so a crafted link shows nothing.
 */
function outcomeSignature(secret: string, person: string, o: Outcome): string {
  return mac(secret, 'portal-team-outcome', JSON.stringify([person.toLowerCase(), o.company, o.done, o.member ?? '', o.released ?? '']), 16);
}

/** The companies whose team this person may open: admins of the company, or administrators of one of its infrastructures. */
function teamCompanies(person: PortalPerson): Array<{ key: string; name: string }> {
  const ids = new Set([...adminCompanies(person).map((m) => m.companyId), ...administeredInfrastructures(person).map((g) => g.companyId)]);
  return person.memberships.filter((m) => ids.has(m.companyId)).map((m) => ({ key: m.companyKey, name: m.companyName }));
}

/** A refused member form, shown again as typed: the add form's (`member` null) or one member's. */
interface MemberEcho {
  member: string | null;
  form: FormEcho;
}

const MEMBER_FIELDS = /^(email|name|phone|(role|ccAllCases)\..+)$/;

/** Each problem of a refused member form at its field; what concerns no one field stays in the page's message. */
function memberEcho(body: unknown, member: string | null, refusal: TeamRefusal): MemberEcho {
  const errors = refusal.reason === 'already_member' ? { email: refusal.message } : fieldErrors(refusal.details ?? [], (name) => MEMBER_FIELDS.test(name), 'form');
  return { member, form: formEcho(body, errors) };
}

function teamData(team: TeamView, companies: Array<{ key: string; name: string }>, echo: MemberEcho | null) {
  const roleOptions = (selected: string) => ROLE_CHOICES.map((r) => ({ value: r, selected: r === selected }));
  /** What the form shows for a field: as typed when it comes back refused, else as stored. */
  const shown = (form: FormEcho | null, name: string, stored: string) => (form ? (form.values[name] ?? '') : stored);
  const addForm = echo && echo.member === null ? echo.form : null;
  return {
    team,
    addForm,
    companies: companies.length > 1 ? companies.map((c) => ({ ...c, current: c.key === team.company.key })) : [],
    contacts: team.contacts.map((c) => {
      const form = echo && echo.member === c.email ? echo.form : null;
      return {
        ...c,
        form,
        nameShown: shown(form, 'name', c.name ?? ''),
        phoneShown: shown(form, 'phone', c.phone ?? ''),
        formAction: `/portal/team/${encodeURIComponent(c.email)}`,
        permissions: c.permissions.map((p) => ({ ...p, name: team.infrastructures.find((i) => i.key === p.infrastructureKey)?.name ?? p.infrastructureKey, options: roleOptions(shown(form, `role.${p.infrastructureKey}`, p.role)), isAdmin: p.role === 'administrator' })),
      };
    }),
    newPermissions: team.infrastructures.filter((i) => i.mayManage).map((i) => ({ ...i, options: roleOptions(addForm?.values[`role.${i.key}`] ?? 'none'), cc: Boolean(addForm?.values[`ccAllCases.${i.key}`]) })),
  };
}

/** What the module uses of the web's dependencies. */
export const PORTAL_TEAM_DEPS = ['db', 'pages', 'approvals', 'enqueueDeliveries', 'log'] as const;
export type PortalTeamDeps = Pick<WebDeps, (typeof PORTAL_TEAM_DEPS)[number]>;

/** `/portal/team`: who may open cases for the company, kept right by its own administrators. */
export function registerPortalTeamRoutes(app: FastifyInstance, deps: PortalTeamDeps, auth: PortalAuth): void {
  async function show(request: FastifyRequest, reply: FastifyReply, companyKey: string | undefined, status: number, message: { ok: boolean; text: string } | null, more: { added?: { email: string; released: string }; echo?: MemberEcho } = {}) {
    const { added, echo } = more;
    const person = request.portal!.person;
    const companies = teamCompanies(person);
    const key = companyKey ?? companies[0]?.key;
    if (!key) throw new DomainError('forbidden', 'only company admins and infrastructure administrators manage a team');
    const loaded = await loadTeam(deps.db, person, key);
    if (!loaded.ok) throw new DomainError(loaded.reason === 'not_found' ? 'not_found' : 'forbidden', loaded.message);
    return reply
      .status(status)
      .headers(DASHBOARD_HEADERS)
      .send(deps.pages.renderFramed('portal/layout', 'portal/team', `Team: ${loaded.team.company.name}`, auth.frame(request, 'team'), { ...teamData(loaded.team, companies, echo ?? null), message: message && added !== undefined ? { ...message, text: addedMessage(loaded.team, added.email, added.released) } : message }));
  }

  /** `editing`: whose form was sent (null for the add form); a refused one comes back as typed. */
  async function answer(request: FastifyRequest, reply: FastifyReply, companyKey: string, outcome: TeamOutcome, done: string, editing: string | null, member?: string) {
    if (!outcome.ok) return show(request, reply, companyKey, TEAM_REFUSAL_STATUS[outcome.reason], { ok: false, text: outcome.message }, { echo: memberEcho(request.body, editing, outcome) });
    await deps.enqueueDeliveries(outcome.outboxIds);
    deps.log.info({ event: 'portal_team_change', person: request.portal!.person.email, company: companyKey, actions: outcome.actions }, 'team changed in the portal');
    const o: Outcome = { company: companyKey, done, ...(member ? { member } : {}), ...(outcome.releasedCaseIds.length ? { released: String(outcome.releasedCaseIds.length) } : {}) };
    const query = new URLSearchParams({ ...o, sig: outcomeSignature(deps.approvals.settings.linkSecret, request.portal!.person.email, o) });
    return reply.redirect(`/portal/team?${query.toString()}`, 303);
  }

  /** Parses the form against the company's infrastructures; a bad form gets the page back with every problem. */
  async function form(request: FastifyRequest, companyKey: string, email: string | null): Promise<{ ok: true; form: MemberForm } | TeamRefusal> {
    const loaded = await loadTeam(deps.db, request.portal!.person, companyKey);
    if (!loaded.ok) return loaded;
    const body = { ...(request.body as Record<string, unknown>), ...(email ? { email } : {}) };
    try {
      return { ok: true, form: parseMemberForm(body, loaded.team.infrastructures.map((i) => i.key)) };
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, reason: 'invalid_input', message: err.message, details: err.details };
      throw err;
    }
  }

  app.get<{ Querystring: { company?: string; done?: string; member?: string; released?: string; sig?: string } }>('/portal/team', async (request, reply) => {
    const q = request.query;
    const signed =
      q.company !== undefined && q.done !== undefined && q.sig !== undefined &&
      sameText(q.sig, outcomeSignature(deps.approvals.settings.linkSecret, request.portal!.person.email, { company: q.company, done: q.done, ...(q.member === undefined ? {} : { member: q.member }), ...(q.released === undefined ? {} : { released: q.released }) }));
    if (!signed) return show(request, reply, q.company || undefined, 200, null);
    const released = /^[1-9][0-9]{0,5}$/.test(request.query.released ?? '') ? Number(request.query.released) : 0;
    const releasedWords = released ? ` ${released === 1 ? 'One held case was' : `${released} held cases were`} released: its requester may now open cases there.` : '';
    const done = request.query.done && SAVED[request.query.done] ? { ok: true, text: SAVED[request.query.done]! + releasedWords } : null;
    const added = request.query.done === 'added' && typeof request.query.member === 'string' ? { email: request.query.member.toLowerCase(), released: releasedWords } : undefined;
    return show(request, reply, request.query.company || undefined, 200, done, { added });
  });

  app.post('/portal/team', async (request, reply) => {
    const companyKey = field(request.body, 'company') || teamCompanies(request.portal!.person)[0]?.key || '';
    const parsed = await form(request, companyKey, null);
    if (!parsed.ok) return answer(request, reply, companyKey, parsed, 'added', null);
    return answer(request, reply, companyKey, await saveMember(deps.approvals, request.portal!.person, companyKey, parsed.form, { create: true }), 'added', null, parsed.form.email);
  });

  app.post<{ Params: { email: string } }>('/portal/team/:email', async (request, reply) => {
    const companyKey = field(request.body, 'company') || teamCompanies(request.portal!.person)[0]?.key || '';
    const email = request.params.email.toLowerCase();
    if (field(request.body, 'action') === 'remove') return answer(request, reply, companyKey, await removeMember(deps.approvals, request.portal!.person, companyKey, email), 'removed', email);
    const parsed = await form(request, companyKey, email);
    if (!parsed.ok) return answer(request, reply, companyKey, parsed, 'saved', email);
    return answer(request, reply, companyKey, await saveMember(deps.approvals, request.portal!.person, companyKey, parsed.form, { create: false }), 'saved', email);
  });
}
