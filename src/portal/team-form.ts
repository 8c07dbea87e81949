/**
 * The team page's vocabulary: the member form as posted (and its parser), the view the page
 * shows, and the outcomes of a change. The rules that decide who may change what are in team.ts.
 */
import { z } from 'zod';
import type { CompanyRole, ContactStatus, PermissionRole } from '../db/schema';
import { isPhoneNumber } from '../directory/file-format';
import { DomainError } from '../errors';

/** What the form's `role.<infrastructureKey>` select offers. */
export type RoleChoice = 'none' | PermissionRole;
export const ROLE_CHOICES: readonly RoleChoice[] = ['none', 'user', 'administrator'];

/** A member form, as `parseMemberForm` reads it. */
export interface MemberForm {
  /** Lower-cased. Identifies the contact being edited; the address of the one being added. */
  email: string;
  /** `name`: absent leaves the name as it is (required when adding). */
  name?: string;
  /**
   * `companyAdmin=on`. Absent is "not an admin" on a company admin's form; an infrastructure
   * administrator cannot change it, so for them absent means "as it is".
   */
  companyAdmin: boolean;
  /** `securityContact=on`; absent is off. */
  securityContact: boolean;
  /** `phone`: absent leaves it as it is, empty clears it. */
  phone?: string | null;
  /**
   * One entry per `role.<key>` submitted (`ccAllCases.<key>=on` goes with it); infrastructures
   * the form does not mention keep their permission as it is.
   */
  permissions: Record<string, { role: RoleChoice; ccAllCases: boolean }>;
}

export type TeamRefusalReason = 'forbidden' | 'not_found' | 'last_admin' | 'already_member' | 'invalid_input';

/** A change that was refused; nothing was written. */
export interface TeamRefusal {
  ok: false;
  reason: TeamRefusalReason;
  /** One sentence for the person, naming what was refused and why. */
  message: string;
  /** A refused form's problems, one "field: what is wrong" each, shown at their fields. */
  details?: string[];
}

/** The HTTP status each refusal maps to. */
export const TEAM_REFUSAL_STATUS: Readonly<Record<TeamRefusalReason, 400 | 403 | 404 | 409>> = {
  invalid_input: 400,
  forbidden: 403,
  not_found: 404,
  last_admin: 409,
  already_member: 409,
};

/** A change that was made (possibly none at all, when the form matched what is stored). */
export interface TeamChange {
  ok: true;
  /** The contact added or edited; null after a removal. */
  contactId: string | null;
  /** The audit actions written, in order (e.g. `member_added`, `permission_granted`). */
  actions: string[];
  /** Outbox rows to queue once the transaction has committed. */
  outboxIds: string[];
  /** Held cases the change released (it let their requester open cases there). */
  releasedCaseIds: string[];
}

export type TeamOutcome = TeamChange | TeamRefusal;

export interface TeamInfrastructure {
  id: string;
  key: string;
  name: string;
  /** Whether this person may change permissions on it. */
  mayManage: boolean;
}

/** A contact's permission on one infrastructure; `role: 'none'` when there is none. */
export interface TeamPermission {
  infrastructureKey: string;
  role: RoleChoice;
  ccAllCases: boolean;
  /** Where the permission came from (`import`, `portal`, `approval`); null without one. */
  source: string | null;
  grantedBy: string | null;
  grantedVia: string | null;
  /** Same as the infrastructure's `mayManage`. */
  mayManage: boolean;
}

export interface TeamContact {
  contactId: string;
  email: string;
  name: string | null;
  companyRole: CompanyRole;
  status: ContactStatus;
  /** Where the contact came from (`import`, `portal`, `approval`). */
  source: string;
  securityContact: boolean;
  phone: string | null;
  /** One per infrastructure of the view, in the same order. */
  permissions: TeamPermission[];
  /** A company admin with no other active company admin: can be neither removed nor demoted. */
  isLastAdmin: boolean;
  isSelf: boolean;
  /**
   * The infrastructures (names) this contact may open cases on, by the rule matching applies:
   * every one for a company admin, else those they hold a role on. Empty: their mail is held.
   */
  mayOpenCasesOn: string[];
  /** May change the security contact and phone (a company admin; an administrator of an infrastructure the contact has a role on). */
  mayEditSecurityContact: boolean;
  /** May change anything of this contact (company admin: everything; infrastructure administrator: their roles, security contact). */
  mayEdit: boolean;
  mayEditName: boolean;
  /**
   * May grant or revoke "company admin" (a company admin viewing). For the last admin
   * (`isLastAdmin`) only keeping it is accepted: show the box ticked and disabled, and post
   * `companyAdmin=on` (a disabled box is not submitted, and absent means "not an admin").
   */
  mayChangeCompanyAdmin: boolean;
  mayRemove: boolean;
}

export interface TeamView {
  company: { id: string; key: string; name: string };
  infrastructures: TeamInfrastructure[];
  contacts: TeamContact[];
  /** A company admin: manages everything. */
  mayManageCompany: boolean;
  /** Company admins, and infrastructure administrators (who add people to their infrastructures). */
  mayAddMember: boolean;
  mayEditSecurityContacts: boolean;
}

// ---------------------------------------------------------------------------------------------
// The form.

const emailSchema = z.email().max(254);
const NAME_MAX = 200;

function single(body: Record<string, unknown>, field: string, problems: string[]): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  problems.push(`${field}: must be given once`);
  return undefined;
}

/** A checkbox: `on` (or true, 1, yes); an array (a hidden fallback plus the box) counts as on when any value is. */
function checked(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(checked);
  if (value === true) return true;
  return typeof value === 'string' && ['on', 'true', '1', 'yes'].includes(value.trim().toLowerCase());
}

/**
 * Reads a member form (the add and the edit form alike) against the company's infrastructure
 * keys. Pure. Throws `DomainError('invalid_input')` listing every problem: a bad email, an empty
 * or overlong name, a role other than none/user/administrator, an unknown infrastructure key,
 * `ccAllCases.<key>` without `role.<key>`, a bad phone number, a security contact without one.
 * Other fields (`_csrf`, `action`) are ignored.
 */
export function parseMemberForm(body: Record<string, unknown>, infrastructureKeys: readonly string[]): MemberForm {
  const problems: string[] = [];
  const known = new Set(infrastructureKeys);

  const rawEmail = single(body, 'email', problems)?.trim().toLowerCase() ?? '';
  if (!rawEmail) problems.push('email: required');
  else if (!emailSchema.safeParse(rawEmail).success) problems.push(`email: "${rawEmail.slice(0, 100)}" is not an email address`);

  let name: string | undefined;
  const rawName = single(body, 'name', problems);
  if (rawName !== undefined) {
    name = rawName.trim().replace(/\s+/g, ' ');
    if (!name) problems.push('name: required');
    else if (name.length > NAME_MAX) problems.push(`name: at most ${NAME_MAX} characters`);
    // eslint-disable-next-line no-control-regex
    else if (/[\u0000-\u001f\u007f]/.test(name)) problems.push('name: no control characters');
  }

  let phone: string | null | undefined;
  const rawPhone = single(body, 'phone', problems);
  if (rawPhone !== undefined) {
    phone = rawPhone.trim() || null;
    if (phone !== null && !isPhoneNumber(phone)) problems.push('phone: must be a phone number such as +44 20 7946 0000');
  }
  const securityContact = checked(body.securityContact);
  if (securityContact && phone === null) problems.push('phone: a security contact needs a phone number');

  const permissions: MemberForm['permissions'] = {};
  for (const field of Object.keys(body)) {
    const m = /^(role|ccAllCases)\.(.+)$/.exec(field);
    if (!m) continue;
    const [, kind, key] = m as unknown as [string, 'role' | 'ccAllCases', string];
    if (!known.has(key)) {
      problems.push(`${field}: no infrastructure "${key.slice(0, 100)}" in this company`);
      continue;
    }
    if (kind === 'ccAllCases') {
      if (body[`role.${key}`] === undefined) problems.push(`${field}: needs role.${key}`);
      continue;
    }
    const role = single(body, field, problems)?.trim();
    if (role === undefined) continue;
    if (!(ROLE_CHOICES as readonly string[]).includes(role)) {
      problems.push(`${field}: must be none, user or administrator`);
      continue;
    }
    permissions[key] = { role: role as RoleChoice, ccAllCases: role !== 'none' && checked(body[`ccAllCases.${key}`]) };
  }

  if (problems.length) throw new DomainError('invalid_input', 'The member form is not valid:', problems);
  return {
    email: rawEmail,
    ...(name === undefined ? {} : { name }),
    companyAdmin: checked(body.companyAdmin),
    securityContact,
    ...(phone === undefined ? {} : { phone }),
    permissions,
  };
}
