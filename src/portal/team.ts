/**
 * Team management for the customer portal (`/portal/team`): a company's own administrators keep
 * its contact list right. The rules of who may change what are the planners of team-plan.ts; this
 * module reads the state they need and applies what they decide through directory/changes.ts,
 * which writes the audit rows (actor = the person's email, channel `portal`) and applies the rule
 * of who may open cases (releasing held cases, settling requests). Anyone who is neither a company
 * admin nor an infrastructure administrator: `forbidden` for a contact of the company, `not_found`
 * for an outsider (an unknown company key and a company that is not yours look the same).
 *
 * Every change, its audit rows and its mail (invitation, security alerts, released notices) are
 * written in one transaction, under a lock on the company's row (which `directory import` takes
 * too). Authority is read again inside that transaction, so a demotion that commits first wins.
 * Callers queue the returned outbox ids after commit.
 *
 * A change takes the approval workflow's deps because what follows it is that workflow's work
 * (releasing held cases, settling requests, security alerts: approvals/admissions.ts and
 * security-alerts.ts); the portal's own mail, the invitation, needs only PortalMailDeps.
 */
import type { ApprovalDeps } from '../approvals/context';
import { directoryEffects } from '../approvals/admissions';
import { mailSecurityAlerts } from '../approvals/security-alerts';
import { formatDate } from '../dates';
import type { DbOrTx, Tx } from '../db/connection';
import { infrastructuresOpenTo } from '../directory/access';
import { applyDirectoryChanges, companyPermissions, lockCompany, lockContacts, type DirectoryEffects } from '../directory/changes';
import { addToOutbox, written } from '../mail/outbox';
import { issueSignInLink } from './links';
import type { PortalMailDeps } from './sign-in';
import { administers, isCompanyAdmin, loadPerson, type PortalPerson } from './people';
import type { MemberForm, TeamChange, TeamInfrastructure, TeamOutcome, TeamRefusal, TeamRefusalReason, TeamView } from './team-form';
import { maySetSecurityContactOf, planMemberRemoval, planMemberSave, type Authority, type MemberPlan, type TeamState } from './team-plan';

export * from './team-form';

/**
 * Life of the sign-in link in an invitation. PORTAL_LINK_TTL (15 minutes by default) suits a link
 * someone just asked for; an invitation is often read hours or days later, so its link lives 7
 * days. It still works once, and the invitee can always ask for a fresh link on the sign-in page.
 */
export const INVITATION_LINK_TTL_MS = 7 * 24 * 3600_000;

function authorityOf(person: PortalPerson, companyId: string, infrastructureIds: readonly string[]): Authority {
  return {
    companyAdmin: isCompanyAdmin(person, companyId),
    administered: new Set(infrastructureIds.filter((id) => administers(person, id))),
    member: person.memberships.some((m) => m.companyId === companyId),
  };
}

/** Thrown inside a transaction to roll everything back, turned into the outcome outside it. */
class Refused extends Error {
  constructor(readonly refusal: TeamRefusal) {
    super(refusal.message);
  }
}

function refuse(reason: TeamRefusalReason, message: string): never {
  throw new Refused({ ok: false, reason, message });
}

function noAccess(auth: Authority, companyKey: string): never {
  return auth.member ? refuse('forbidden', `Only company admins and infrastructure administrators manage the team of ${companyKey}.`) : refuse('not_found', `No company ${companyKey}.`);
}

async function companyInfrastructures(db: DbOrTx, companyId: string) {
  return db.selectFrom('infrastructures').select(['id', 'key', 'name']).where('company_id', '=', companyId).orderBy('name').orderBy('key').execute();
}

/** Active company admins of the company other than this contact. */
async function otherActiveAdmins(tx: Tx, companyId: string, email: string): Promise<number> {
  const row = await tx
    .selectFrom('contacts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('company_id', '=', companyId)
    .where('company_role', '=', 'admin')
    .where('status', '=', 'active')
    .where('email', '!=', email)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * The planners' state for one contact of the company, read under the company's row lock (team
 * changes of one company, and `directory import`, happen one after the other), with the person's
 * authority read afresh.
 */
async function lockState(tx: Tx, effects: DirectoryEffects, person: string, companyKey: string, email: string): Promise<{ state: TeamState; actorName: string | null }> {
  const company = await lockCompany(tx, companyKey);
  if (!company) return refuse('not_found', `No company ${companyKey}.`);
  const actor = await loadPerson(tx, person);
  const infrastructures = await companyInfrastructures(tx, company.id);
  const auth = authorityOf(actor, company.id, infrastructures.map((i) => i.id));
  if (!auth.companyAdmin && !auth.administered.size) noAccess(auth, companyKey);
  await effects.lockRequests(tx, company.id, [email]);
  const [existing] = await lockContacts(tx, company.id, [email]);
  const permissions = existing ? await companyPermissions(tx, company.id, [email]) : [];
  const state = { company, infrastructures, auth, actorEmail: actor.email, existing, permissions, otherActiveAdmins: await otherActiveAdmins(tx, company.id, email) };
  return { state, actorName: actor.memberships.find((m) => m.companyId === company.id)?.name ?? null };
}

async function transact(deps: ApprovalDeps, work: (tx: Tx) => Promise<TeamChange>): Promise<TeamOutcome> {
  try {
    return await deps.db.transaction().execute(work);
  } catch (err) {
    if (err instanceof Refused) return err.refusal;
    throw err;
  }
}

/** Applies a plan: its changes through the directory's writer, then its security alerts and invitation. */
async function carryOut(tx: Tx, deps: ApprovalDeps, effects: DirectoryEffects, s: TeamState, actorName: string | null, email: string, plan: MemberPlan): Promise<TeamChange> {
  if (!plan.ok) return refuse(plan.reason, plan.message);
  const trace = { actor: s.actorEmail, channel: 'portal', companyId: s.company.id };
  const applied = await applyDirectoryChanges(tx, effects, trace, plan.changes);
  const actor = { email: s.actorEmail, name: actorName };
  const outboxIds = [...applied.outboxIds];
  for (const event of plan.events) {
    outboxIds.push(...(await mailSecurityAlerts(tx, deps, { companyId: s.company.id, event, person: { name: plan.name, email }, actor, case: null, subjectEmail: email })));
  }
  if (plan.invite) outboxIds.push(...(await invite(tx, { db: deps.db, outbox: deps.outbox, publicUrl: deps.settings.publicUrl }, s, actor, { name: plan.name, email }, plan.invite.mayOpenCases)));
  return { ok: true, contactId: applied.contactIds.get(email) ?? null, actions: applied.actions, outboxIds, releasedCaseIds: applied.releasedCaseIds };
}

// ---------------------------------------------------------------------------------------------
// Reading.

/** The team page's data for this person, or why they may not see it. */
export async function loadTeam(db: DbOrTx, person: PortalPerson, companyKey: string): Promise<{ ok: true; team: TeamView } | TeamRefusal> {
  try {
    const company = await db.selectFrom('companies').select(['id', 'key', 'name']).where('key', '=', companyKey).executeTakeFirst();
    if (!company) return refuse('not_found', `No company ${companyKey}.`);
    const infras = await companyInfrastructures(db, company.id);
    const auth = authorityOf(person, company.id, infras.map((i) => i.id));
    if (!auth.companyAdmin && !auth.administered.size) noAccess(auth, companyKey);

    const [contacts, permissions] = await Promise.all([
      db
        .selectFrom('contacts')
        .select(['id', 'email', 'name', 'company_role', 'status', 'source', 'security_contact', 'phone'])
        .where('company_id', '=', company.id)
        .orderBy('email')
        .execute(),
      db
        .selectFrom('permissions as p')
        .innerJoin('contacts as c', 'c.id', 'p.contact_id')
        .select(['p.contact_id', 'p.infrastructure_id', 'p.role', 'p.cc_all_cases', 'p.source', 'p.granted_by', 'p.granted_via'])
        .where('c.company_id', '=', company.id)
        .execute(),
    ]);
    const byPair = new Map(permissions.map((p) => [`${p.contact_id}:${p.infrastructure_id}`, p]));
    const activeAdmins = contacts.filter((c) => c.company_role === 'admin' && c.status === 'active');
    const infrastructures: TeamInfrastructure[] = infras.map((i) => ({ ...i, mayManage: auth.companyAdmin || auth.administered.has(i.id) }));
    const mayEdit = auth.companyAdmin || auth.administered.size > 0;

    return {
      ok: true,
      team: {
        company,
        infrastructures,
        mayManageCompany: auth.companyAdmin,
        mayAddMember: mayEdit,
        mayEditSecurityContacts: mayEdit,
        contacts: contacts.map((c) => {
          const isLastAdmin = c.company_role === 'admin' && activeAdmins.filter((a) => a.id !== c.id).length === 0;
          return {
            contactId: c.id,
            email: c.email,
            name: c.name,
            companyRole: c.company_role,
            status: c.status,
            source: c.source,
            securityContact: c.security_contact,
            phone: c.phone,
            permissions: infrastructures.map((i) => {
              const p = byPair.get(`${c.id}:${i.id}`);
              return { infrastructureKey: i.key, role: p?.role ?? 'none', ccAllCases: p?.cc_all_cases ?? false, source: p?.source ?? null, grantedBy: p?.granted_by ?? null, grantedVia: p?.granted_via ?? null, mayManage: i.mayManage };
            }),
            isLastAdmin,
            isSelf: c.email === person.email,
            mayOpenCasesOn: infrastructuresOpenTo({ companyRole: c.company_role, permitted: new Set(permissions.filter((p) => p.contact_id === c.id).map((p) => p.infrastructure_id)) }, infras.map((i) => i.id)).map((id) => infras.find((i) => i.id === id)!.name),
            mayEdit,
            mayEditSecurityContact: maySetSecurityContactOf(auth, permissions.filter((p) => p.contact_id === c.id).map((p) => p.infrastructure_id)),
            mayEditName: auth.companyAdmin,
            mayChangeCompanyAdmin: auth.companyAdmin,
            mayRemove: auth.companyAdmin && !isLastAdmin,
          };
        }),
      },
    };
  } catch (err) {
    if (err instanceof Refused) return err.refusal;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Changing.

/** Adds (`create: true`) or edits a member from a parsed form, as this person: see `planMemberSave`. */
export async function saveMember(deps: ApprovalDeps, person: PortalPerson, companyKey: string, form: MemberForm, options: { create: boolean }): Promise<TeamOutcome> {
  const email = form.email.trim().toLowerCase();
  return transact(deps, async (tx) => {
    const effects = directoryEffects(deps);
    const { state, actorName } = await lockState(tx, effects, person.email, companyKey, email);
    return carryOut(tx, deps, effects, state, actorName, email, planMemberSave(state, form, options.create));
  });
}

async function invite(tx: Tx, deps: PortalMailDeps, s: TeamState, invitedBy: { email: string; name: string | null }, recipient: { name: string | null; email: string }, mayOpenCases: boolean): Promise<string[]> {
  const link = await issueSignInLink(tx, deps.publicUrl, recipient.email, INVITATION_LINK_TTL_MS);
  return written(
    await addToOutbox(tx, deps.outbox, {
      kind: 'portal_invitation',
      to: recipient.email,
      companyId: s.company.id,
      props: {
        recipient,
        invitedBy,
        companyName: s.company.name,
        link: link.url,
        expiresAt: formatDate(link.expiresAt),
        validDays: Math.round(INVITATION_LINK_TTL_MS / 86_400_000),
        mayOpenCases,
      },
    }),
  );
}

/**
 * Removes a person from the company (company admins only; never the last company admin): their
 * contact and permissions go, each with an audit row, their portal sessions end, and the security
 * contacts are told. Their later mail is held as a stranger's; their existing cases stay as they are.
 */
export async function removeMember(deps: ApprovalDeps, person: PortalPerson, companyKey: string, email: string): Promise<TeamOutcome> {
  const address = email.trim().toLowerCase();
  return transact(deps, async (tx) => {
    const effects = directoryEffects(deps);
    const { state, actorName } = await lockState(tx, effects, person.email, companyKey, address);
    const outcome = await carryOut(tx, deps, effects, state, actorName, address, planMemberRemoval(state, address));
    return { ...outcome, contactId: null };
  });
}
