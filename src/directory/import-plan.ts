/**
 * What `directory import` does to one company's contacts and permissions, as a pure planner: the
 * company's state and the file's entry in, the changes (for changes.ts to apply) and the counts
 * out. The rules:
 *
 * - Upsert every listed contact and permission. Fields the file leaves out (`name`,
 *   `securityContact`, `phone`) keep their value; an active contact stays active (a pending member
 *   becomes active at their first portal sign-in, which a re-import must not undo).
 * - Every change gets an audit row with its values before and after; so does every addition to a
 *   company that existed before (on a company's first import, the additions are its creation). A
 *   person removed in the portal whom the file still lists comes back, and their `member_added`
 *   row says who removed them there.
 * - With `replace`, what the company has that the file no longer lists is removed, each with its
 *   audit row, except contacts and permissions made in the portal or by an approval
 *   (`PROTECTED_SOURCES`): the file never listed them, so leaving them out says nothing; one
 *   `replace_kept` row lists them. A contact the file itself brought in and now drops goes with
 *   all its permissions, portal-made ones included.
 */
import type { CompanyEntry } from './file-format';
import type { AuditNote, ContactRow, ContactValues, DirectoryChange, PermissionRow, PermissionValues } from './changes';

/**
 * Rows a customer's administrators made (in the portal, or by authorizing a stranger). `--replace`
 * keeps them; they are removed where they were made (the portal), or with their contact when the
 * file drops an imported contact.
 */
export const PROTECTED_SOURCES: ReadonlySet<string> = new Set(['portal', 'approval']);

export interface CompanyImportState {
  /** Whether the company existed before this import. */
  known: boolean;
  /** The company's infrastructure ids, by key (every infrastructure of the entry among them). */
  infrastructureIds: ReadonlyMap<string, string>;
  contacts: readonly ContactRow[];
  permissions: readonly PermissionRow[];
  /** For listed addresses that are not contacts: their last removal in the portal. */
  removedInPortal: ReadonlyMap<string, { by: string; at: Date }>;
}

export interface CompanyImportCounts {
  contacts: number;
  permissions: number;
  addedContacts: number;
  addedPermissions: number;
  changedContacts: number;
  changedPermissions: number;
  removedContacts: number;
  removedPermissions: number;
  keptContacts: number;
  keptPermissions: number;
}

function changedFields<T extends object>(before: T, after: T): string[] {
  return (Object.keys(after) as Array<keyof T>).filter((k) => before[k] !== after[k]).map(String);
}

const one = (note: AuditNote | null): AuditNote[] => (note ? [note] : []);

export function planCompanyImport(state: CompanyImportState, entry: CompanyEntry, replace: boolean): { changes: DirectoryChange[]; counts: CompanyImportCounts } {
  const counts: CompanyImportCounts = { contacts: 0, permissions: 0, addedContacts: 0, addedPermissions: 0, changedContacts: 0, changedPermissions: 0, removedContacts: 0, removedPermissions: 0, keptContacts: 0, keptPermissions: 0 };
  const changes: DirectoryChange[] = [];
  const contactByEmail = new Map(state.contacts.map((c) => [c.email, c]));

  for (const c of entry.contacts) {
    counts.contacts++;
    const ex = contactByEmail.get(c.email);
    if (!ex) {
      const values: ContactValues = { name: c.name ?? null, companyRole: c.companyRole, status: c.status, securityContact: c.securityContact ?? false, phone: c.phone ?? null };
      const removed = state.removedInPortal.get(c.email);
      const note = state.known ? { action: 'member_added', detail: { after: values, ...(removed ? { removedInPortal: removed } : {}) } } : null;
      if (note) counts.addedContacts++;
      changes.push({ kind: 'add_contact', email: c.email, values, source: 'import', notes: one(note) });
      continue;
    }
    const before: ContactValues = { name: ex.name, companyRole: ex.company_role, status: ex.status, securityContact: ex.security_contact, phone: ex.phone };
    const after: ContactValues = {
      name: c.name === undefined ? ex.name : c.name,
      companyRole: c.companyRole,
      status: ex.status === 'active' ? 'active' : c.status,
      securityContact: c.securityContact ?? ex.security_contact,
      phone: c.phone === undefined ? ex.phone : c.phone,
    };
    const fields = changedFields(before, after);
    if (!fields.length) continue;
    counts.changedContacts++;
    changes.push({ kind: 'update_contact', email: c.email, values: after, notes: [{ action: 'member_updated', detail: { fields, before, after, source: ex.source } }] });
  }

  const permissionOf = new Map(state.permissions.map((p) => [`${p.infrastructure_id}:${p.email}`, p]));
  const listed = new Set<string>();
  for (const infra of entry.infrastructures) {
    const infrastructureId = state.infrastructureIds.get(infra.key)!;
    for (const p of infra.permissions) {
      counts.permissions++;
      const key = `${infrastructureId}:${p.email}`;
      listed.add(key);
      const ex = permissionOf.get(key);
      const after: PermissionValues = { role: p.role, ccAllCases: p.ccAllCases };
      if (!ex) {
        const note = state.known ? { action: 'permission_granted', detail: { infrastructure: infra.key, before: null, after } } : null;
        if (note) counts.addedPermissions++;
        changes.push({ kind: 'grant', email: p.email, infrastructureId, values: after, origin: { source: 'import', grantedBy: null, grantedVia: null }, notes: one(note) });
        continue;
      }
      const before: PermissionValues = { role: ex.role, ccAllCases: ex.cc_all_cases };
      const fields = changedFields(before, after);
      if (!fields.length) continue;
      counts.changedPermissions++;
      const detail = { infrastructure: infra.key, fields, before, after, source: ex.source, grantedBy: ex.granted_by, grantedVia: ex.granted_via };
      changes.push({ kind: 'change_permission', email: p.email, infrastructureId, values: after, notes: [{ action: 'permission_changed', detail }] });
    }
  }

  if (replace) changes.push(...planRemovals(state, entry, listed, counts));
  return { changes, counts };
}

/** `--replace`: what the file no longer lists goes, except what the portal or an approval made. */
function planRemovals(state: CompanyImportState, entry: CompanyEntry, listed: ReadonlySet<string>, counts: CompanyImportCounts): DirectoryChange[] {
  const listedContacts = new Set(entry.contacts.map((c) => c.email));
  const unlisted = state.contacts.filter((c) => !listedContacts.has(c.email));
  const removedContacts = unlisted.filter((c) => !PROTECTED_SOURCES.has(c.source));
  const keptContacts = unlisted.filter((c) => PROTECTED_SOURCES.has(c.source));
  const dropped = new Set(removedContacts.map((c) => c.email));
  const changes: DirectoryChange[] = [];
  const keptPermissions: Array<{ email: string; infrastructure: string; source: string }> = [];
  for (const p of state.permissions) {
    if (listed.has(`${p.infrastructure_id}:${p.email}`)) continue;
    if (!dropped.has(p.email) && PROTECTED_SOURCES.has(p.source)) {
      keptPermissions.push({ email: p.email, infrastructure: p.infrastructure_key, source: p.source });
      continue;
    }
    counts.removedPermissions++;
    const before = { role: p.role, ccAllCases: p.cc_all_cases, source: p.source, grantedBy: p.granted_by, grantedVia: p.granted_via };
    const reason = dropped.has(p.email) ? 'the file no longer lists the contact' : 'the file no longer lists the permission';
    changes.push({ kind: 'revoke', email: p.email, infrastructureId: p.infrastructure_id, notes: [{ action: 'permission_revoked', detail: { infrastructure: p.infrastructure_key, before, reason } }] });
  }
  for (const c of removedContacts) {
    counts.removedContacts++;
    const before = { name: c.name, companyRole: c.company_role, status: c.status, securityContact: c.security_contact, phone: c.phone, source: c.source };
    changes.push({ kind: 'remove_contact', email: c.email, notes: [{ action: 'member_removed', detail: { before, reason: 'the file no longer lists the contact' } }] });
  }
  if (keptContacts.length || keptPermissions.length) {
    counts.keptContacts += keptContacts.length;
    counts.keptPermissions += keptPermissions.length;
    const detail = {
      reason: 'made in the portal or by an approval: --replace keeps them; remove them in the portal',
      contacts: keptContacts.map((c) => ({ email: c.email, source: c.source })),
      permissions: keptPermissions,
    };
    changes.push({ kind: 'note', email: null, notes: [{ action: 'replace_kept', detail }] });
  }
  return changes;
}
