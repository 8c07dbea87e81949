/**
 * The one writer of contacts and permissions. The portal's team page, `directory import` and an
 * approval plan their changes (pure planners: team-plan.ts, import-plan.ts) and apply them here,
 * in the caller's transaction: each change with its audit rows, and then the rule of who may open
 * cases (access.ts) applied to what changed: whoever may now open cases on an infrastructure where
 * they could not before is handed to `effects.admitted` (their held cases are released there, their
 * pending request settled), and whoever is no longer a contact loses their portal sessions.
 */
import { sql } from 'kysely';
import { auditMany, type AuditEntry } from '../audit/audit-log';
import type { Tx } from '../db/connection';
import type { CompanyRole, ContactStatus, PermissionRole } from '../db/schema';
import { gainedInfrastructures, NO_ACCESS, type Access } from './access';

export interface ContactValues {
  name: string | null;
  companyRole: CompanyRole;
  status: ContactStatus;
  securityContact: boolean;
  phone: string | null;
}

export interface PermissionValues {
  role: PermissionRole;
  ccAllCases: boolean;
}

/** Where a permission came from, kept with it (`permissions.source`, `granted_by`, `granted_via`). */
export interface PermissionOrigin {
  source: string;
  grantedBy: string | null;
  grantedVia: string | null;
}

/** An audit row a change writes: the writer adds actor, channel, company and subject. */
export interface AuditNote {
  action: string;
  infrastructureId?: string;
  approvalId?: string;
  detail: Record<string, unknown>;
}

/** One change to a company's people and rights; every address is lower case and names a contact of the company. */
export type DirectoryChange =
  | { kind: 'add_contact'; email: string; values: ContactValues; source: string; notes: AuditNote[] }
  | { kind: 'update_contact'; email: string; values: ContactValues; notes: AuditNote[] }
  | { kind: 'remove_contact'; email: string; notes: AuditNote[] }
  | { kind: 'grant'; email: string; infrastructureId: string; values: PermissionValues; origin: PermissionOrigin; notes: AuditNote[] }
  | { kind: 'change_permission'; email: string; infrastructureId: string; values: PermissionValues; notes: AuditNote[] }
  | { kind: 'revoke'; email: string; infrastructureId: string; notes: AuditNote[] }
  /** Audit rows only (e.g. what `--replace` kept). */
  | { kind: 'note'; email: string | null; notes: AuditNote[] };

/** Who makes the changes, through which channel (`portal`, `import`, `link`…), in which company. */
export interface DirectoryTrace {
  actor: string;
  channel: string;
  companyId: string;
}

/** Someone who may now open cases on an infrastructure where they could not before. */
export interface Admission {
  companyId: string;
  infrastructureId: string;
  email: string;
}

/** What follows a change to people and rights, outside the directory: see approvals/admissions.ts. */
export interface DirectoryEffects {
  /**
   * Locks the company's pending requests (of these addresses; all with null) before the caller
   * locks any contact: an approval's decision locks its request, then the requester's contact, so
   * everything that may settle a request takes the two in that order.
   */
  lockRequests(tx: Tx, companyId: string, emails: string[] | null): Promise<void>;
  /** Releases the admitted people's held cases and settles their pending requests. */
  admitted(tx: Tx, admissions: Admission[], trace: DirectoryTrace): Promise<Released>;
  /** These addresses are no longer contacts of the company: their portal sessions end. */
  removed(tx: Tx, emails: string[]): Promise<void>;
}

/** What `effects.admitted` did: the cases it opened and the mail it wrote (to queue after commit). */
export interface Released {
  releasedCaseIds: string[];
  outboxIds: string[];
}

export const NOTHING_RELEASED: Released = { releasedCaseIds: [], outboxIds: [] };

/**
 * Effects that do nothing, for a caller that does their work itself (an approval's decision
 * releases the requester's cases on its own) or that seeds a directory nobody has used yet
 * (tests, the bench: no case held, nobody signed in). Always passed by name, never a default.
 */
export const NO_DIRECTORY_EFFECTS: DirectoryEffects = { lockRequests: async () => undefined, admitted: async () => NOTHING_RELEASED, removed: async () => undefined };

export interface AppliedChanges extends Released {
  /** The audit actions written, in order. */
  actions: string[];
  /** Contact ids by address, of every contact the changes left in place. */
  contactIds: Map<string, string>;
  admissions: Admission[];
}

/**
 * Applies the changes in order, in the caller's transaction (which should hold the company's row
 * lock: see `lockCompany`), writes their audit rows, then applies the rule to what changed.
 */
export async function applyDirectoryChanges(tx: Tx, effects: DirectoryEffects, trace: DirectoryTrace, changes: DirectoryChange[]): Promise<AppliedChanges> {
  const emails = [...new Set(changes.flatMap((c) => (c.email === null ? [] : [c.email])))];
  const infrastructureIds = (await tx.selectFrom('infrastructures').select('id').where('company_id', '=', trace.companyId).orderBy('id').execute()).map((r) => r.id);
  const before = await loadAccess(tx, trace.companyId, emails);
  const contactIds = await loadContactIds(tx, trace.companyId, emails);
  const entries: AuditEntry[] = [];
  const removed: string[] = [];
  for (const change of changes) {
    await write(tx, trace.companyId, contactIds, change);
    if (change.kind === 'remove_contact') removed.push(change.email);
    const infrastructureId = 'infrastructureId' in change ? change.infrastructureId : undefined;
    for (const note of change.notes) {
      entries.push({ actor: trace.actor, channel: trace.channel, companyId: trace.companyId, subjectEmail: change.email, infrastructureId: note.infrastructureId ?? infrastructureId, approvalId: note.approvalId, action: note.action, detail: note.detail });
    }
  }
  await auditMany(tx, entries);
  const after = await loadAccess(tx, trace.companyId, emails);
  const admissions = emails.flatMap((email) =>
    gainedInfrastructures(before.get(email) ?? NO_ACCESS, after.get(email) ?? NO_ACCESS, infrastructureIds).map((infrastructureId) => ({ companyId: trace.companyId, infrastructureId, email })),
  );
  if (removed.length) await effects.removed(tx, removed);
  const released = admissions.length ? await effects.admitted(tx, admissions, trace) : NOTHING_RELEASED;
  return { actions: entries.map((e) => e.action), contactIds, admissions, ...released };
}

async function write(tx: Tx, companyId: string, ids: Map<string, string>, change: DirectoryChange): Promise<void> {
  const idOf = (email: string) => {
    const id = ids.get(email);
    if (!id) throw new Error(`directory change for ${email}, who is not a contact of company ${companyId}`);
    return id;
  };
  switch (change.kind) {
    case 'add_contact': {
      const v = change.values;
      const row = await tx
        .insertInto('contacts')
        .values({ company_id: companyId, email: change.email, name: v.name, company_role: v.companyRole, status: v.status, source: change.source, security_contact: v.securityContact, phone: v.phone })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.set(change.email, row.id);
      return;
    }
    case 'update_contact': {
      const v = change.values;
      await tx
        .updateTable('contacts')
        .set({ name: v.name, company_role: v.companyRole, status: v.status, security_contact: v.securityContact, phone: v.phone, updated_at: sql`now()` })
        .where('id', '=', idOf(change.email))
        .execute();
      return;
    }
    case 'remove_contact':
      // Its permissions and approver rows go with it (ON DELETE CASCADE).
      await tx.deleteFrom('contacts').where('id', '=', idOf(change.email)).execute();
      ids.delete(change.email);
      return;
    case 'grant':
      await tx
        .insertInto('permissions')
        .values({ infrastructure_id: change.infrastructureId, contact_id: idOf(change.email), role: change.values.role, cc_all_cases: change.values.ccAllCases, source: change.origin.source, granted_by: change.origin.grantedBy, granted_via: change.origin.grantedVia })
        .execute();
      return;
    case 'change_permission':
      await tx.updateTable('permissions').set({ role: change.values.role, cc_all_cases: change.values.ccAllCases }).where('infrastructure_id', '=', change.infrastructureId).where('contact_id', '=', idOf(change.email)).execute();
      return;
    case 'revoke':
      await tx.deleteFrom('permissions').where('infrastructure_id', '=', change.infrastructureId).where('contact_id', '=', idOf(change.email)).execute();
      return;
    case 'note':
      return;
  }
}

async function loadContactIds(tx: Tx, companyId: string, emails: string[]): Promise<Map<string, string>> {
  if (!emails.length) return new Map();
  const rows = await tx.selectFrom('contacts').select(['id', 'email']).where('company_id', '=', companyId).where('email', 'in', emails).execute();
  return new Map(rows.map((r) => [r.email, r.id]));
}

/** Each address's role and permissions in the company, as the rule reads them. */
async function loadAccess(tx: Tx, companyId: string, emails: string[]): Promise<Map<string, Access>> {
  if (!emails.length) return new Map();
  const [contacts, permissions] = await Promise.all([
    tx.selectFrom('contacts').select(['email', 'company_role']).where('company_id', '=', companyId).where('email', 'in', emails).execute(),
    tx
      .selectFrom('permissions as p')
      .innerJoin('contacts as c', 'c.id', 'p.contact_id')
      .select(['c.email', 'p.infrastructure_id'])
      .where('c.company_id', '=', companyId)
      .where('c.email', 'in', emails)
      .execute(),
  ]);
  const access = new Map<string, { companyRole: CompanyRole | null; permitted: Set<string> }>(contacts.map((c) => [c.email, { companyRole: c.company_role, permitted: new Set<string>() }]));
  for (const p of permissions) access.get(p.email)?.permitted.add(p.infrastructure_id);
  return access;
}

/**
 * Locks the company's row for the rest of the transaction: team changes of one company and
 * `directory import` happen one after the other, and each plans from what the other committed.
 */
export async function lockCompany(tx: Tx, key: string) {
  return tx.selectFrom('companies').select(['id', 'key', 'name']).where('key', '=', key).forUpdate().executeTakeFirst();
}

/** A contact of the company as planners read it, locked for the transaction. */
export async function lockContacts(tx: Tx, companyId: string, emails?: string[]) {
  if (emails && !emails.length) return [];
  return tx
    .selectFrom('contacts')
    .select(['id', 'email', 'name', 'company_role', 'status', 'source', 'security_contact', 'phone'])
    .where('company_id', '=', companyId)
    .$if(emails !== undefined, (q) => q.where('email', 'in', emails!))
    .orderBy('id')
    .forUpdate()
    .execute();
}

export type ContactRow = Awaited<ReturnType<typeof lockContacts>>[number];

/** Every permission on the company's infrastructures, with the infrastructure's key and the contact's address. */
export async function companyPermissions(tx: Tx, companyId: string, emails?: string[]) {
  if (emails && !emails.length) return [];
  return tx
    .selectFrom('permissions as p')
    .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
    .innerJoin('contacts as c', 'c.id', 'p.contact_id')
    .select(['p.infrastructure_id', 'p.contact_id', 'p.role', 'p.cc_all_cases', 'p.source', 'p.granted_by', 'p.granted_via', 'i.key as infrastructure_key', 'c.email'])
    .where('i.company_id', '=', companyId)
    .$if(emails !== undefined, (q) => q.where('c.email', 'in', emails!))
    .orderBy('i.key')
    .execute();
}

export type PermissionRow = Awaited<ReturnType<typeof companyPermissions>>[number];
