import { sql } from 'kysely';
import { audit } from '../audit/audit-log';
import type { Db, Tx } from '../db/connection';
import type { CompanyRole, ContactStatus, PermissionRole } from '../db/schema';
import { DomainError } from '../errors';
import type { CompanyEntry, DirectoryFile } from './file-format';

export interface ImportSummary {
  companies: number;
  infrastructures: number;
  contacts: number;
  permissions: number;
  removedContacts: number;
  removedPermissions: number;
  /** Contacts and permissions added to a company that existed before; each has an audit row. */
  addedContacts: number;
  addedPermissions: number;
  /** Existing contacts and permissions whose values the file changed; each change has an audit row. */
  changedContacts: number;
  changedPermissions: number;
  /**
   * With `replace`: contacts and permissions the file does not list but that were made in the
   * portal or by an approval. They are kept (see `PROTECTED_SOURCES`), and listed in one audit row
   * per company.
   */
  keptContacts: number;
  keptPermissions: number;
}

/** Who the audit log names for changes an import makes. */
export const IMPORT_ACTOR = 'directory-import';
export const IMPORT_CHANNEL = 'import';

/**
 * Rows a customer's administrators made (in the portal, or by authorizing a stranger). The file
 * cannot speak for them: it never listed them, so leaving them out says nothing. `--replace`
 * keeps them; they are removed where they were made (the portal), or with their contact when the
 * file drops an imported contact.
 */
export const PROTECTED_SOURCES: ReadonlySet<string> = new Set(['portal', 'approval']);

/**
 * Upserts every company of the file in one transaction: the import lands whole or not at all.
 * With `replace`, whatever a listed company has that the file no longer lists (contacts,
 * permissions, domains, infrastructure addresses) is removed, except contacts and permissions
 * made in the portal or by an approval; companies the file does not mention are never touched.
 * Every contact or permission the import changes or removes gets an audit row (actor
 * `directory-import`, channel `import`) with its values before (and after); so does every one it
 * adds to a company that existed before.
 */
export async function importDirectory(db: Db, file: DirectoryFile, options: { replace: boolean }): Promise<ImportSummary> {
  return db.transaction().execute(async (tx) => {
    const summary: ImportSummary = {
      companies: 0,
      infrastructures: 0,
      contacts: 0,
      permissions: 0,
      removedContacts: 0,
      removedPermissions: 0,
      addedContacts: 0,
      addedPermissions: 0,
      changedContacts: 0,
      changedPermissions: 0,
      keptContacts: 0,
      keptPermissions: 0,
    };
    for (const company of file.companies) await importCompany(tx, company, options.replace, summary);
    return summary;
  });
}

interface ContactValues {
  name: string | null;
  companyRole: CompanyRole;
  status: ContactStatus;
  securityContact: boolean;
  phone: string | null;
}

interface PermissionValues {
  role: PermissionRole;
  ccAllCases: boolean;
}

function changedFields<T extends object>(before: T, after: T): string[] {
  return (Object.keys(after) as Array<keyof T>).filter((k) => before[k] !== after[k]).map(String);
}

async function importCompany(tx: Tx, entry: CompanyEntry, replace: boolean, summary: ImportSummary): Promise<void> {
  // Additions are audited too, except on a company's first import (that is its creation).
  const known = (await tx.selectFrom('companies').select('id').where('key', '=', entry.key).executeTakeFirst()) !== undefined;
  // The upsert locks the company's row until commit: portal changes to the same company
  // (src/portal/team.ts locks it too) wait for the import, and the import for them.
  const { id: companyId } = await tx
    .insertInto('companies')
    .values({ key: entry.key, name: entry.name })
    .onConflict((oc) => oc.column('key').doUpdateSet({ name: entry.name, updated_at: sql`now()` }))
    .returning('id')
    .executeTakeFirstOrThrow();
  summary.companies++;
  const trace = { actor: IMPORT_ACTOR, channel: IMPORT_CHANNEL, companyId };

  if (entry.domains.length) {
    await tx
      .insertInto('company_domains')
      .values(entry.domains.map((domain) => ({ company_id: companyId, domain })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  if (replace) {
    await tx
      .deleteFrom('company_domains')
      .where('company_id', '=', companyId)
      .$if(entry.domains.length > 0, (q) => q.where('domain', 'not in', entry.domains))
      .execute();
  }

  const existingContacts = new Map(
    (
      await tx
        .selectFrom('contacts')
        .select(['id', 'email', 'name', 'company_role', 'status', 'security_contact', 'phone', 'source'])
        .where('company_id', '=', companyId)
        .forUpdate()
        .execute()
    ).map((c) => [c.email, c]),
  );
  const contactIds = new Map<string, string>();
  for (const c of entry.contacts) {
    const ex = existingContacts.get(c.email);
    if (!ex) {
      const row = await tx
        .insertInto('contacts')
        .values({
          company_id: companyId,
          email: c.email,
          name: c.name ?? null,
          company_role: c.companyRole,
          status: c.status,
          source: 'import',
          security_contact: c.securityContact ?? false,
          phone: c.phone ?? null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      contactIds.set(c.email, row.id);
      if (known) {
        // Someone the company's administrators removed in the portal comes back when a file still
        // lists them: say so in the trail, so the re-addition can be spotted and undone.
        const removedInPortal = await tx
          .selectFrom('audit_log')
          .select(['actor', 'at'])
          .where('company_id', '=', companyId)
          .where('subject_email', '=', c.email)
          .where('action', '=', 'member_removed')
          .where('channel', '=', 'portal')
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        await audit(tx, {
          ...trace,
          action: 'member_added',
          subjectEmail: c.email,
          detail: {
            after: { name: c.name ?? null, companyRole: c.companyRole, status: c.status, securityContact: c.securityContact ?? false, phone: c.phone ?? null },
            ...(removedInPortal ? { removedInPortal: { by: removedInPortal.actor, at: removedInPortal.at } } : {}),
          },
        });
        summary.addedContacts++;
      }
    } else {
      contactIds.set(c.email, ex.id);
      const before: ContactValues = { name: ex.name, companyRole: ex.company_role, status: ex.status, securityContact: ex.security_contact, phone: ex.phone };
      const after: ContactValues = {
        // Fields the file leaves out keep their value; an active contact stays active (a pending
        // member becomes active at their first portal sign-in, which a re-import must not undo).
        name: c.name === undefined ? ex.name : c.name,
        companyRole: c.companyRole,
        status: ex.status === 'active' ? 'active' : c.status,
        securityContact: c.securityContact ?? ex.security_contact,
        phone: c.phone === undefined ? ex.phone : c.phone,
      };
      const fields = changedFields(before, after);
      if (fields.length) {
        await tx
          .updateTable('contacts')
          .set({ name: after.name, company_role: after.companyRole, status: after.status, security_contact: after.securityContact, phone: after.phone, updated_at: sql`now()` })
          .where('id', '=', ex.id)
          .execute();
        await audit(tx, { ...trace, action: 'member_updated', subjectEmail: c.email, detail: { fields, before, after, source: ex.source } });
        summary.changedContacts++;
      }
    }
    summary.contacts++;
  }

  // Every permission on the company's infrastructures, keyed by infrastructure and contact.
  const existingPermissions = new Map(
    (
      await tx
        .selectFrom('permissions as p')
        .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
        .innerJoin('contacts as c', 'c.id', 'p.contact_id')
        .select(['p.infrastructure_id', 'p.contact_id', 'p.role', 'p.cc_all_cases', 'p.source', 'p.granted_by', 'p.granted_via', 'i.key as infrastructure_key', 'c.email'])
        .where('i.company_id', '=', companyId)
        .execute()
    ).map((p) => [`${p.infrastructure_id}:${p.contact_id}`, p]),
  );

  const listedPermissions = new Set<string>();
  for (const infra of entry.infrastructures) {
    const infraId = await upsertInfrastructure(tx, companyId, entry.key, infra);
    summary.infrastructures++;
    for (const p of infra.permissions) {
      const contactId = contactIds.get(p.email)!; // parseDirectoryFile guarantees the contact exists
      const key = `${infraId}:${contactId}`;
      listedPermissions.add(key);
      summary.permissions++;
      const ex = existingPermissions.get(key);
      if (!ex) {
        await tx.insertInto('permissions').values({ infrastructure_id: infraId, contact_id: contactId, role: p.role, cc_all_cases: p.ccAllCases, source: 'import' }).execute();
        if (known) {
          await audit(tx, { ...trace, action: 'permission_granted', infrastructureId: infraId, subjectEmail: p.email, detail: { infrastructure: infra.key, before: null, after: { role: p.role, ccAllCases: p.ccAllCases } } });
          summary.addedPermissions++;
        }
        continue;
      }
      const before: PermissionValues = { role: ex.role, ccAllCases: ex.cc_all_cases };
      const after: PermissionValues = { role: p.role, ccAllCases: p.ccAllCases };
      const fields = changedFields(before, after);
      if (!fields.length) continue;
      await tx.updateTable('permissions').set({ role: p.role, cc_all_cases: p.ccAllCases }).where('infrastructure_id', '=', infraId).where('contact_id', '=', contactId).execute();
      await audit(tx, {
        ...trace,
        action: 'permission_changed',
        infrastructureId: infraId,
        subjectEmail: p.email,
        detail: { infrastructure: infra.key, fields, before, after, source: ex.source, grantedBy: ex.granted_by, grantedVia: ex.granted_via },
      });
      summary.changedPermissions++;
    }
    if (replace) {
      await tx
        .deleteFrom('infrastructure_addresses')
        .where('infrastructure_id', '=', infraId)
        .$if(infra.addresses.length > 0, (q) => q.where('address', 'not in', infra.addresses))
        .execute();
    }
  }

  if (replace) await removeUnlisted(tx, companyId, contactIds, listedPermissions, existingContacts, existingPermissions, summary);
}

type ExistingContact = { id: string; email: string; name: string | null; company_role: CompanyRole; status: ContactStatus; security_contact: boolean; phone: string | null; source: string };

/**
 * `--replace`: removes what the file no longer lists, with an audit row for each contact and
 * permission removed. Contacts and permissions made in the portal or by an approval are kept
 * (one audit row lists them), except the permissions of an imported contact the file drops: they
 * go with their contact, each with its audit row.
 */
async function removeUnlisted(
  tx: Tx,
  companyId: string,
  listedContacts: Map<string, string>,
  listedPermissions: Set<string>,
  existingContacts: Map<string, ExistingContact>,
  existingPermissions: Map<string, { infrastructure_id: string; contact_id: string; role: PermissionRole; cc_all_cases: boolean; source: string; granted_by: string | null; granted_via: string | null; infrastructure_key: string; email: string }>,
  summary: ImportSummary,
): Promise<void> {
  const trace = { actor: IMPORT_ACTOR, channel: IMPORT_CHANNEL, companyId };
  const unlisted = [...existingContacts.values()].filter((c) => !listedContacts.has(c.email));
  const removedContacts = unlisted.filter((c) => !PROTECTED_SOURCES.has(c.source));
  const keptContacts = unlisted.filter((c) => PROTECTED_SOURCES.has(c.source));
  const removedContactIds = new Set(removedContacts.map((c) => c.id));

  // A dropped contact's permissions anywhere (normally only on this company's infrastructures).
  const dropped = removedContactIds.size
    ? await tx
        .selectFrom('permissions as p')
        .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
        .innerJoin('contacts as c', 'c.id', 'p.contact_id')
        .select(['p.infrastructure_id', 'p.contact_id', 'p.role', 'p.cc_all_cases', 'p.source', 'p.granted_by', 'p.granted_via', 'i.key as infrastructure_key', 'c.email'])
        .where('p.contact_id', 'in', [...removedContactIds])
        .execute()
    : [];
  const toRemove = new Map(dropped.map((p) => [`${p.infrastructure_id}:${p.contact_id}`, p]));
  const keptPermissions: Array<{ email: string; infrastructure: string; source: string }> = [];
  for (const [key, p] of existingPermissions) {
    if (listedPermissions.has(key) || toRemove.has(key)) continue;
    if (PROTECTED_SOURCES.has(p.source)) keptPermissions.push({ email: p.email, infrastructure: p.infrastructure_key, source: p.source });
    else toRemove.set(key, p);
  }

  for (const p of toRemove.values()) {
    await tx.deleteFrom('permissions').where('infrastructure_id', '=', p.infrastructure_id).where('contact_id', '=', p.contact_id).execute();
    await audit(tx, {
      ...trace,
      action: 'permission_revoked',
      infrastructureId: p.infrastructure_id,
      subjectEmail: p.email,
      detail: {
        infrastructure: p.infrastructure_key,
        before: { role: p.role, ccAllCases: p.cc_all_cases, source: p.source, grantedBy: p.granted_by, grantedVia: p.granted_via },
        reason: removedContactIds.has(p.contact_id) ? 'the file no longer lists the contact' : 'the file no longer lists the permission',
      },
    });
    summary.removedPermissions++;
  }
  for (const c of removedContacts) {
    await tx.deleteFrom('contacts').where('id', '=', c.id).execute();
    await audit(tx, {
      ...trace,
      action: 'member_removed',
      subjectEmail: c.email,
      detail: { before: { name: c.name, companyRole: c.company_role, status: c.status, securityContact: c.security_contact, phone: c.phone, source: c.source }, reason: 'the file no longer lists the contact' },
    });
    summary.removedContacts++;
  }
  if (keptContacts.length || keptPermissions.length) {
    await audit(tx, {
      ...trace,
      action: 'replace_kept',
      detail: {
        reason: 'made in the portal or by an approval: --replace keeps them; remove them in the portal',
        contacts: keptContacts.map((c) => ({ email: c.email, source: c.source })),
        permissions: keptPermissions,
      },
    });
    summary.keptContacts += keptContacts.length;
    summary.keptPermissions += keptPermissions.length;
  }
}

async function upsertInfrastructure(tx: Tx, companyId: string, companyKey: string, infra: CompanyEntry['infrastructures'][number]): Promise<string> {
  const existing = await tx.selectFrom('infrastructures').select(['id', 'company_id']).where('key', '=', infra.key).executeTakeFirst();
  if (existing && existing.company_id !== companyId) {
    throw new DomainError('conflict', `infrastructure ${infra.key} already belongs to another company than ${companyKey}`);
  }
  if (infra.default) {
    // One default per company: the file's choice replaces an earlier one.
    await tx.updateTable('infrastructures').set({ is_default: false }).where('company_id', '=', companyId).where('key', '!=', infra.key).execute();
  }
  const { id } = await tx
    .insertInto('infrastructures')
    .values({ company_id: companyId, key: infra.key, name: infra.name, is_default: infra.default })
    .onConflict((oc) => oc.column('key').doUpdateSet({ name: infra.name, is_default: infra.default }))
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const address of infra.addresses) {
    const owner = await tx.selectFrom('infrastructure_addresses').select('infrastructure_id').where('address', '=', address).executeTakeFirst();
    if (owner && owner.infrastructure_id !== id) {
      throw new DomainError('conflict', `address ${address} already belongs to another infrastructure than ${infra.key}`);
    }
    if (!owner) await tx.insertInto('infrastructure_addresses').values({ address, infrastructure_id: id }).execute();
  }
  return id;
}
