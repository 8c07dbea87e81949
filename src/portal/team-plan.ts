/**
 * The team page's rules as pure planners: the company's state and a person's request in, the
 * changes to make (for directory/changes.ts to apply) or a refusal out. Who may do what:
 *
 * - A **company admin** manages the whole company: adds and removes people, grants and revokes
 *   company admin, every infrastructure's roles and "CC in all cases", names, security contacts.
 * - An **infrastructure administrator** (who is not a company admin) changes only `role.<key>` /
 *   `ccAllCases.<key>` of the infrastructures they administer, and the security contact and phone
 *   of contacts who hold a permission on one of them. They may add a person, with roles on their
 *   own infrastructures only and at least one of them (someone they add is someone they give
 *   access to). Anything else that would change something is refused as a whole (`forbidden`):
 *   no partial change. Fields equal to what is stored are accepted (a page posts read-only values back).
 * - Company admin and administrator count for active contacts only: a pending one has no authority.
 * - The last company admin (no other *active* company admin) can be neither removed nor demoted.
 */
import type { AuditNote, ContactRow, DirectoryChange, PermissionRow } from '../directory/changes';
import type { CompanyRole } from '../db/schema';
import { opensCases } from '../directory/access';
import type { MemberForm, TeamRefusal, TeamRefusalReason } from './team-form';

export interface Authority {
  companyAdmin: boolean;
  /** Infrastructure ids of this company the person administers. */
  administered: ReadonlySet<string>;
  member: boolean;
}

export interface TeamState {
  company: { id: string; key: string; name: string };
  infrastructures: ReadonlyArray<{ id: string; key: string; name: string }>;
  auth: Authority;
  actorEmail: string;
  /** The contact the form names, if the company has one, and their permissions. */
  existing: ContactRow | undefined;
  permissions: readonly PermissionRow[];
  /** Active company admins of the company other than this contact. */
  otherActiveAdmins: number;
}

export type TeamEvent = 'company_admin_granted' | 'company_admin_revoked' | 'member_removed';

export type MemberPlan =
  | {
      ok: true;
      changes: DirectoryChange[];
      /** Security alerts to send, in order. */
      events: TeamEvent[];
      /** A new contact gets an invitation saying whether they may open cases. */
      invite: { mayOpenCases: boolean } | null;
      name: string | null;
    }
  | TeamRefusal;

const refusal = (reason: TeamRefusalReason, message: string): TeamRefusal => ({ ok: false, reason, message });

function lastAdmin(s: TeamState, email: string): TeamRefusal {
  return refusal('last_admin', `${email} is the last company admin of ${s.company.name}: make someone else a company admin first.`);
}

/** Whether this person may change the security contact and phone of the contact in the state. */
/** Who may change a listed contact's security-contact flag: a company admin, or an administrator of an infrastructure the contact has a role on. */
export function maySetSecurityContactOf(auth: Authority, contactInfrastructureIds: string[]): boolean {
  return auth.companyAdmin || contactInfrastructureIds.some((id) => auth.administered.has(id));
}

function maySetSecurityContact(s: TeamState): boolean {
  return !s.existing || maySetSecurityContactOf(s.auth, s.permissions.map((p) => p.infrastructure_id));
}

/**
 * Adds (`create`) or edits a member from a parsed form. A new contact is pending, source
 * `portal`; permissions made here carry source `portal`, `granted_by` the person, `granted_via`
 * `portal`; a change to an existing permission keeps its source (the audit rows have the change).
 */
export function planMemberSave(s: TeamState, form: MemberForm, create: boolean): MemberPlan {
  const { company, auth, existing } = s;
  const infraByKey = new Map(s.infrastructures.map((i) => [i.key, i]));
  const unknownKeys = Object.keys(form.permissions).filter((k) => !infraByKey.has(k));
  if (unknownKeys.length) return refusal('invalid_input', `No infrastructure ${unknownKeys.join(', ')} in ${company.name}.`);
  const email = form.email.trim().toLowerCase();
  if (create && existing) return refusal('already_member', `${email} is already a contact of ${company.name}.`);
  if (!create && !existing) return refusal('not_found', `${email} is not a contact of ${company.name}.`);
  if (!existing && form.name === undefined) return refusal('invalid_input', 'A name is required to add a person.');

  const name = form.name ?? existing?.name ?? null;
  if (existing && !auth.companyAdmin && form.name !== undefined && form.name !== existing.name) return refusal('forbidden', 'Only a company admin can change a name.');
  let companyRole: CompanyRole;
  if (auth.companyAdmin) companyRole = form.companyAdmin ? 'admin' : 'member';
  else {
    if (form.companyAdmin && existing?.company_role !== 'admin') return refusal('forbidden', 'Only a company admin can make someone a company admin.');
    companyRole = existing?.company_role ?? 'member';
  }
  const securityContact = form.securityContact;
  const phone = form.phone !== undefined ? form.phone : (existing?.phone ?? null);
  if (securityContact && !phone) return refusal('invalid_input', 'A security contact needs a phone number.');
  const securityChanged = existing ? securityContact !== existing.security_contact || phone !== existing.phone : securityContact || phone !== null;
  if (securityChanged && !maySetSecurityContact(s)) {
    return refusal('forbidden', `${email} has no role on an infrastructure you administer: only a company admin or their infrastructures' administrators change their security contact.`);
  }

  // The permissions the form mentions; the others stay as they are.
  const currentByInfra = new Map(s.permissions.map((p) => [p.infrastructure_id, p]));
  const permissionChanges: DirectoryChange[] = [];
  const rolesAfter = new Set(s.permissions.map((p) => p.infrastructure_id));
  for (const [key, want] of Object.entries(form.permissions)) {
    const infra = infraByKey.get(key)!;
    const before = currentByInfra.get(infra.id);
    const ccAllCases = want.role !== 'none' && want.ccAllCases;
    if ((before?.role ?? 'none') === want.role && (before?.cc_all_cases ?? false) === ccAllCases) continue;
    if (!auth.companyAdmin && !auth.administered.has(infra.id)) return refusal('forbidden', `You do not administer ${infra.name}: its permissions are read-only for you.`);
    const beforeValues = before ? { role: before.role, ccAllCases: before.cc_all_cases, source: before.source, grantedBy: before.granted_by, grantedVia: before.granted_via } : null;
    const base = { email, infrastructureId: infra.id };
    if (want.role === 'none') {
      rolesAfter.delete(infra.id);
      permissionChanges.push({ ...base, kind: 'revoke', notes: [{ action: 'permission_revoked', detail: { infrastructure: infra.key, before: beforeValues, after: null } }] });
      continue;
    }
    rolesAfter.add(infra.id);
    const values = { role: want.role, ccAllCases };
    permissionChanges.push(
      before
        ? { ...base, kind: 'change_permission', values, notes: [{ action: 'permission_changed', detail: { infrastructure: infra.key, before: beforeValues, after: values } }] }
        : { ...base, kind: 'grant', values, origin: { source: 'portal', grantedBy: s.actorEmail, grantedVia: 'portal' }, notes: [{ action: 'permission_granted', detail: { infrastructure: infra.key, before: null, after: values } }] },
    );
  }
  if (!existing && !auth.companyAdmin && !permissionChanges.some((c) => c.kind === 'grant')) {
    return refusal('forbidden', 'An infrastructure administrator adds people to their own infrastructures: give them a role on one.');
  }
  if (existing?.company_role === 'admin' && companyRole !== 'admin' && s.otherActiveAdmins === 0) return lastAdmin(s, email);

  const changes: DirectoryChange[] = [];
  const events: TeamEvent[] = [];
  if (!existing) {
    const values = { name, companyRole, status: 'pending' as const, securityContact, phone };
    const notes: AuditNote[] = [{ action: 'member_added', detail: { after: values } }];
    if (companyRole === 'admin') {
      notes.push({ action: 'company_admin_granted', detail: { before: { companyRole: null }, after: { companyRole } } });
      events.push('company_admin_granted');
    }
    if (securityContact) notes.push({ action: 'security_contact_set', detail: { before: null, after: { securityContact, phone } } });
    changes.push({ kind: 'add_contact', email, values, source: 'portal', notes });
  } else {
    const nameChanged = name !== existing.name;
    const roleChanged = companyRole !== existing.company_role;
    const notes: AuditNote[] = [];
    if (nameChanged) notes.push({ action: 'member_updated', detail: { fields: ['name'], before: { name: existing.name }, after: { name } } });
    if (roleChanged) {
      const event = companyRole === 'admin' ? 'company_admin_granted' : 'company_admin_revoked';
      notes.push({ action: event, detail: { before: { companyRole: existing.company_role }, after: { companyRole } } });
      events.push(event);
    }
    if (securityChanged) notes.push({ action: 'security_contact_set', detail: { before: { securityContact: existing.security_contact, phone: existing.phone }, after: { securityContact, phone } } });
    if (notes.length) changes.push({ kind: 'update_contact', email, values: { name, companyRole, status: existing.status, securityContact, phone }, notes });
  }
  changes.push(...permissionChanges);
  // The invitation says what the new person may do, by the rule matching applies to their mail.
  const invite = existing ? null : { mayOpenCases: s.infrastructures.some((i) => opensCases(companyRole, rolesAfter.has(i.id))) };
  return { ok: true, changes, events, invite, name };
}

/** Removes a person from the company: company admins only, never the last company admin. */
export function planMemberRemoval(s: TeamState, email: string): MemberPlan {
  if (!s.auth.companyAdmin) return refusal('forbidden', 'Only a company admin can remove a person.');
  const existing = s.existing;
  if (!existing) return refusal('not_found', `${email} is not a contact of ${s.company.name}.`);
  if (existing.company_role === 'admin' && s.otherActiveAdmins === 0) return lastAdmin(s, email);
  const permissionsBefore = s.permissions.map((p) => ({ infrastructure: p.infrastructure_key, role: p.role, ccAllCases: p.cc_all_cases, source: p.source, grantedBy: p.granted_by, grantedVia: p.granted_via }));
  const notes: AuditNote[] = s.permissions.map((p, i) => ({ action: 'permission_revoked', infrastructureId: p.infrastructure_id, detail: { infrastructure: p.infrastructure_key, before: permissionsBefore[i], after: null, reason: 'member removed' } }));
  if (existing.company_role === 'admin') notes.push({ action: 'company_admin_revoked', detail: { before: { companyRole: 'admin' }, after: { companyRole: null }, reason: 'member removed' } });
  const before = { name: existing.name, companyRole: existing.company_role, status: existing.status, source: existing.source, securityContact: existing.security_contact, phone: existing.phone, permissions: permissionsBefore };
  return {
    ok: true,
    changes: [{ kind: 'remove_contact', email, notes: [...notes, { action: 'member_removed', detail: { before, after: null } }] }],
    events: ['member_removed'],
    invite: null,
    name: existing.name,
  };
}
