/**
 * Team management for the customer portal (`/portal/team`): a company's own administrators keep
 * its contact list right. Who may do what:
 *
 * - A **company admin** manages the whole company: adds and removes people, grants and revokes
 *   company admin, every infrastructure's roles and "CC in all cases", names, security contacts.
 * - An **infrastructure administrator** (who is not a company admin) sees the whole team
 *   read-only, and changes only `role.<key>` / `ccAllCases.<key>` of the infrastructures they
 *   administer, plus the security contact and phone of any contact. They may add a person, with
 *   roles on their own infrastructures only and at least one of them (someone they add is
 *   someone they give access to). Anything else they submit that would change something is
 *   refused as a whole (`forbidden`): no partial change. Fields equal to what is stored are
 *   accepted, so a page may post read-only values back.
 * - The last company admin (no other *active* company admin) can be neither removed nor demoted.
 * - Anyone else: `forbidden` for a contact of the company, `not_found` for an outsider (an
 *   unknown company key and a company that is not yours look the same).
 *
 * Every change, its audit rows (actor = the person's email, channel `portal`) and its mail
 * (invitation, security alerts) are written in one transaction, under a lock on the company's row
 * (which `directory import` takes too). Authority is read again inside that transaction, so a
 * demotion that commits first wins. Callers queue the returned outbox ids after commit.
 */
import { sql } from 'kysely';
import type { ApprovalDeps } from '../approvals/context';
import { audit } from '../audit/audit-log';
import { queueSecurityAlerts } from '../approvals/security-alerts';
import { formatDate } from '../approvals/views';
import type { DbOrTx, Tx } from '../db/connection';
import type { CompanyRole, ContactStatus } from '../db/schema';
import type { SecurityEvent } from '../mail/kinds';
import { queueMail, written } from '../mail/outbox';
import { issueSignInLink } from './links';
import { administers, isCompanyAdmin, loadPerson, type PortalPerson } from './people';
import type { MemberForm, RoleChoice, TeamChange, TeamInfrastructure, TeamOutcome, TeamRefusal, TeamRefusalReason, TeamView } from './team-form';

export * from './team-form';

/**
 * Life of the sign-in link in an invitation. PORTAL_LINK_TTL (15 minutes by default) suits a link
 * someone just asked for; an invitation is often read hours or days later, so its link lives 7
 * days. It still works once, and the invitee can always ask for a fresh link on the sign-in page.
 */
export const INVITATION_LINK_TTL_MS = 7 * 24 * 3600_000;

// ---------------------------------------------------------------------------------------------
// Authority.

interface Authority {
  companyAdmin: boolean;
  /** Infrastructure ids of this company the person administers. */
  administered: Set<string>;
  member: boolean;
}

function authorityOf(person: PortalPerson, companyId: string, infrastructureIds: readonly string[]): Authority {
  return {
    companyAdmin: isCompanyAdmin(person, companyId),
    administered: new Set(infrastructureIds.filter((id) => administers(person, id))),
    member: person.memberships.some((m) => m.companyId === companyId),
  };
}

/** Thrown inside the transaction to roll everything back, turned into the outcome outside it. */
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

interface Scope {
  company: { id: string; key: string; name: string };
  infrastructures: Array<{ id: string; key: string; name: string }>;
  auth: Authority;
  actor: { email: string; name: string | null };
}

/**
 * Locks the company's row for the rest of the transaction (team changes of one company, and
 * `directory import`, happen one after the other) and reads the person's authority afresh.
 */
async function lockScope(tx: Tx, email: string, companyKey: string): Promise<Scope> {
  const company = await tx.selectFrom('companies').select(['id', 'key', 'name']).where('key', '=', companyKey).forUpdate().executeTakeFirst();
  if (!company) return refuse('not_found', `No company ${companyKey}.`);
  const person = await loadPerson(tx, email);
  const infrastructures = await companyInfrastructures(tx, company.id);
  const auth = authorityOf(person, company.id, infrastructures.map((i) => i.id));
  if (!auth.companyAdmin && !auth.administered.size) noAccess(auth, companyKey);
  const name = person.memberships.find((m) => m.companyId === company.id)?.name ?? null;
  return { company, infrastructures, auth, actor: { email: person.email, name } };
}

async function transact(deps: ApprovalDeps, work: (tx: Tx) => Promise<TeamChange>): Promise<TeamOutcome> {
  try {
    return await deps.db.transaction().execute(work);
  } catch (err) {
    if (err instanceof Refused) return err.refusal;
    throw err;
  }
}

/** Active company admins of the company other than this contact. */
async function otherActiveAdmins(tx: Tx, companyId: string, contactId: string): Promise<number> {
  const row = await tx
    .selectFrom('contacts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('company_id', '=', companyId)
    .where('company_role', '=', 'admin')
    .where('status', '=', 'active')
    .where('id', '!=', contactId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
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
            mayEdit,
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

type ContactRow = { id: string; email: string; name: string | null; company_role: CompanyRole; status: ContactStatus; source: string; security_contact: boolean; phone: string | null };

async function findContact(tx: Tx, companyId: string, email: string): Promise<ContactRow | undefined> {
  return tx
    .selectFrom('contacts')
    .select(['id', 'email', 'name', 'company_role', 'status', 'source', 'security_contact', 'phone'])
    .where('company_id', '=', companyId)
    .where('email', '=', email)
    .forUpdate()
    .executeTakeFirst();
}

async function alertTeamChange(tx: Tx, deps: ApprovalDeps, scope: Scope, event: SecurityEvent, person: { name: string | null; email: string }): Promise<string[]> {
  return queueSecurityAlerts(tx, deps, { companyId: scope.company.id, event, person, actor: scope.actor, case: null, subjectEmail: person.email });
}

/**
 * Adds (`create: true`) or edits a member from a parsed form, as this person. Adding makes a
 * pending contact (source `portal`) and mails them an invitation; their mail is authorized at
 * once wherever they hold a permission (matching treats pending and active contacts alike).
 * Permissions made here carry source `portal`, `granted_by` the person, `granted_via` `portal`;
 * a change to an existing permission keeps its source (the audit log has the change).
 */
export async function saveMember(deps: ApprovalDeps, person: PortalPerson, companyKey: string, form: MemberForm, options: { create: boolean }): Promise<TeamOutcome> {
  return transact(deps, async (tx) => {
    const scope = await lockScope(tx, person.email, companyKey);
    const { company, auth } = scope;
    const infraByKey = new Map(scope.infrastructures.map((i) => [i.key, i]));
    const unknownKeys = Object.keys(form.permissions).filter((k) => !infraByKey.has(k));
    if (unknownKeys.length) refuse('invalid_input', `No infrastructure ${unknownKeys.join(', ')} in ${company.name}.`);

    const email = form.email.trim().toLowerCase();
    const existing = await findContact(tx, company.id, email);
    if (options.create && existing) refuse('already_member', `${email} is already a contact of ${company.name}.`);
    if (!options.create && !existing) refuse('not_found', `${email} is not a contact of ${company.name}.`);
    if (!existing && form.name === undefined) refuse('invalid_input', 'A name is required to add a person.');

    // What the contact should be.
    const name = form.name ?? existing?.name ?? null;
    if (existing && !auth.companyAdmin && form.name !== undefined && form.name !== existing.name) {
      refuse('forbidden', 'Only a company admin can change a name.');
    }
    let companyRole: CompanyRole;
    if (auth.companyAdmin) companyRole = form.companyAdmin ? 'admin' : 'member';
    else {
      if (form.companyAdmin && existing?.company_role !== 'admin') refuse('forbidden', 'Only a company admin can make someone a company admin.');
      companyRole = existing?.company_role ?? 'member';
    }
    const securityContact = form.securityContact;
    const phone = form.phone !== undefined ? form.phone : (existing?.phone ?? null);
    if (securityContact && !phone) refuse('invalid_input', 'A security contact needs a phone number.');

    // What the permissions should be: only infrastructures the form mentions.
    const current = existing
      ? await tx.selectFrom('permissions').select(['infrastructure_id', 'role', 'cc_all_cases', 'source', 'granted_by', 'granted_via']).where('contact_id', '=', existing.id).forUpdate().execute()
      : [];
    const currentByInfra = new Map(current.map((p) => [p.infrastructure_id, p]));
    const permissionChanges: Array<{ infra: { id: string; key: string; name: string }; before: (typeof current)[number] | undefined; role: RoleChoice; ccAllCases: boolean }> = [];
    for (const [key, want] of Object.entries(form.permissions)) {
      const infra = infraByKey.get(key)!;
      const before = currentByInfra.get(infra.id);
      const ccAllCases = want.role !== 'none' && want.ccAllCases;
      if ((before?.role ?? 'none') === want.role && (before?.cc_all_cases ?? false) === ccAllCases) continue;
      if (!auth.companyAdmin && !auth.administered.has(infra.id)) {
        refuse('forbidden', `You do not administer ${infra.name}: its permissions are read-only for you.`);
      }
      permissionChanges.push({ infra, before, role: want.role, ccAllCases });
    }
    if (!existing && !auth.companyAdmin && !permissionChanges.some((c) => c.role !== 'none')) {
      refuse('forbidden', 'An infrastructure administrator adds people to their own infrastructures: give them a role on one.');
    }
    if (existing?.company_role === 'admin' && companyRole !== 'admin' && (await otherActiveAdmins(tx, company.id, existing.id)) === 0) {
      refuse('last_admin', `${email} is the last company admin of ${company.name}: make someone else a company admin first.`);
    }

    // Everything is allowed: write it.
    const trace = { actor: scope.actor.email, channel: 'portal', companyId: company.id, subjectEmail: email };
    const actions: string[] = [];
    const outboxIds: string[] = [];
    const note = async (action: string, extra: { infrastructureId?: string; detail: Record<string, unknown> }) => {
      await audit(tx, { ...trace, ...extra, action });
      actions.push(action);
    };
    let contactId: string;
    if (!existing) {
      const row = await tx
        .insertInto('contacts')
        .values({ company_id: company.id, email, name, company_role: companyRole, status: 'pending', source: 'portal', security_contact: securityContact, phone })
        .returning('id')
        .executeTakeFirstOrThrow();
      contactId = row.id;
      await note('member_added', { detail: { after: { name, companyRole, status: 'pending', securityContact, phone } } });
      if (companyRole === 'admin') {
        await note('company_admin_granted', { detail: { before: { companyRole: null }, after: { companyRole } } });
        outboxIds.push(...(await alertTeamChange(tx, deps, scope, 'company_admin_granted', { name, email })));
      }
      if (securityContact) await note('security_contact_set', { detail: { before: null, after: { securityContact, phone } } });
    } else {
      contactId = existing.id;
      const nameChanged = name !== existing.name;
      const roleChanged = companyRole !== existing.company_role;
      const securityChanged = securityContact !== existing.security_contact || phone !== existing.phone;
      if (nameChanged || roleChanged || securityChanged) {
        await tx
          .updateTable('contacts')
          .set({ name, company_role: companyRole, security_contact: securityContact, phone, updated_at: sql`now()` })
          .where('id', '=', existing.id)
          .execute();
      }
      if (nameChanged) await note('member_updated', { detail: { fields: ['name'], before: { name: existing.name }, after: { name } } });
      if (roleChanged) {
        const event = companyRole === 'admin' ? 'company_admin_granted' : 'company_admin_revoked';
        await note(event, { detail: { before: { companyRole: existing.company_role }, after: { companyRole } } });
        outboxIds.push(...(await alertTeamChange(tx, deps, scope, event, { name, email })));
      }
      if (securityChanged) {
        await note('security_contact_set', { detail: { before: { securityContact: existing.security_contact, phone: existing.phone }, after: { securityContact, phone } } });
      }
    }

    for (const change of permissionChanges) {
      const { infra, before } = change;
      const where = { infrastructureId: infra.id };
      const beforeValues = before ? { role: before.role, ccAllCases: before.cc_all_cases, source: before.source, grantedBy: before.granted_by, grantedVia: before.granted_via } : null;
      if (change.role === 'none') {
        await tx.deleteFrom('permissions').where('infrastructure_id', '=', infra.id).where('contact_id', '=', contactId).execute();
        await note('permission_revoked', { ...where, detail: { infrastructure: infra.key, before: beforeValues, after: null } });
      } else if (!before) {
        await tx
          .insertInto('permissions')
          .values({ infrastructure_id: infra.id, contact_id: contactId, role: change.role, cc_all_cases: change.ccAllCases, source: 'portal', granted_by: scope.actor.email, granted_via: 'portal' })
          .execute();
        await note('permission_granted', { ...where, detail: { infrastructure: infra.key, before: null, after: { role: change.role, ccAllCases: change.ccAllCases } } });
      } else {
        await tx.updateTable('permissions').set({ role: change.role, cc_all_cases: change.ccAllCases }).where('infrastructure_id', '=', infra.id).where('contact_id', '=', contactId).execute();
        await note('permission_changed', { ...where, detail: { infrastructure: infra.key, before: beforeValues, after: { role: change.role, ccAllCases: change.ccAllCases } } });
      }
    }

    if (!existing) {
      const mayOpenCases = companyRole === 'admin' || permissionChanges.some((c) => c.role !== 'none');
      outboxIds.push(...(await invite(tx, deps, scope, { name, email }, mayOpenCases)));
    }
    return { ok: true, contactId, actions, outboxIds };
  });
}

async function invite(tx: Tx, deps: ApprovalDeps, scope: Scope, recipient: { name: string | null; email: string }, mayOpenCases: boolean): Promise<string[]> {
  const link = await issueSignInLink(tx, deps.settings.publicUrl, recipient.email, INVITATION_LINK_TTL_MS);
  return written(
    await queueMail(tx, deps.outbox, {
      kind: 'portal_invitation',
      to: recipient.email,
      companyId: scope.company.id,
      props: {
        recipient,
        invitedBy: scope.actor,
        companyName: scope.company.name,
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
 * contact and permissions go, each with an audit row, and the security contacts are told. Their
 * later mail is held as a stranger's; their existing cases stay as they are.
 */
export async function removeMember(deps: ApprovalDeps, person: PortalPerson, companyKey: string, email: string): Promise<TeamOutcome> {
  return transact(deps, async (tx) => {
    const scope = await lockScope(tx, person.email, companyKey);
    const { company } = scope;
    if (!scope.auth.companyAdmin) refuse('forbidden', 'Only a company admin can remove a person.');
    const address = email.trim().toLowerCase();
    const existing = await findContact(tx, company.id, address);
    if (!existing) return refuse('not_found', `${address} is not a contact of ${company.name}.`);
    if (existing.company_role === 'admin' && (await otherActiveAdmins(tx, company.id, existing.id)) === 0) {
      refuse('last_admin', `${address} is the last company admin of ${company.name}: make someone else a company admin first.`);
    }

    const trace = { actor: scope.actor.email, channel: 'portal', companyId: company.id, subjectEmail: address };
    const actions: string[] = [];
    const permissions = await tx
      .selectFrom('permissions as p')
      .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
      .select(['p.infrastructure_id', 'i.key', 'p.role', 'p.cc_all_cases', 'p.source', 'p.granted_by', 'p.granted_via'])
      .where('p.contact_id', '=', existing.id)
      .orderBy('i.key')
      .execute();
    const permissionsBefore = permissions.map((p) => ({ infrastructure: p.key, role: p.role, ccAllCases: p.cc_all_cases, source: p.source, grantedBy: p.granted_by, grantedVia: p.granted_via }));
    for (const [i, p] of permissions.entries()) {
      await audit(tx, { ...trace, infrastructureId: p.infrastructure_id, action: 'permission_revoked', detail: { infrastructure: p.key, before: permissionsBefore[i], after: null, reason: 'member removed' } });
      actions.push('permission_revoked');
    }
    if (existing.company_role === 'admin') {
      await audit(tx, { ...trace, action: 'company_admin_revoked', detail: { before: { companyRole: 'admin' }, after: { companyRole: null }, reason: 'member removed' } });
      actions.push('company_admin_revoked');
    }
    // Permissions and pending-approval approver rows go with the contact (ON DELETE CASCADE).
    await tx.deleteFrom('contacts').where('id', '=', existing.id).execute();
    await audit(tx, {
      ...trace,
      action: 'member_removed',
      detail: {
        before: { name: existing.name, companyRole: existing.company_role, status: existing.status, source: existing.source, securityContact: existing.security_contact, phone: existing.phone, permissions: permissionsBefore },
        after: null,
      },
    });
    actions.push('member_removed');
    const outboxIds = await alertTeamChange(tx, deps, scope, 'member_removed', { name: existing.name, email: address });
    return { ok: true, contactId: null, actions, outboxIds };
  });
}
