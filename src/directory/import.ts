import { sql } from 'kysely';
import type { Db, Tx } from '../db/connection';
import { DomainError } from '../errors';
import type { CompanyEntry, DirectoryFile } from './file-format';

export interface ImportSummary {
  companies: number;
  infrastructures: number;
  contacts: number;
  permissions: number;
  removedContacts: number;
  removedPermissions: number;
}

/**
 * Upserts every company of the file in one transaction: the import lands whole or not at all.
 * With `replace`, whatever a listed company has that the file no longer lists (contacts,
 * permissions, domains, infrastructure addresses) is removed; companies the file does not
 * mention are never touched.
 */
export async function importDirectory(db: Db, file: DirectoryFile, options: { replace: boolean }): Promise<ImportSummary> {
  return db.transaction().execute(async (tx) => {
    const summary: ImportSummary = { companies: 0, infrastructures: 0, contacts: 0, permissions: 0, removedContacts: 0, removedPermissions: 0 };
    for (const company of file.companies) await importCompany(tx, company, options.replace, summary);
    return summary;
  });
}

async function importCompany(tx: Tx, entry: CompanyEntry, replace: boolean, summary: ImportSummary): Promise<void> {
  const { id: companyId } = await tx
    .insertInto('companies')
    .values({ key: entry.key, name: entry.name })
    .onConflict((oc) => oc.column('key').doUpdateSet({ name: entry.name, updated_at: sql`now()` }))
    .returning('id')
    .executeTakeFirstOrThrow();
  summary.companies++;

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

  const contactIds = new Map<string, string>();
  for (const c of entry.contacts) {
    const row = await tx
      .insertInto('contacts')
      .values({ company_id: companyId, email: c.email, name: c.name, company_role: c.companyRole, status: c.status, source: 'import' })
      .onConflict((oc) =>
        oc.columns(['company_id', 'email']).doUpdateSet({ name: c.name, company_role: c.companyRole, status: c.status, updated_at: sql`now()` }),
      )
      .returning('id')
      .executeTakeFirstOrThrow();
    contactIds.set(c.email, row.id);
    summary.contacts++;
  }

  const listedPermissions: Array<{ infrastructureId: string; contactId: string }> = [];
  for (const infra of entry.infrastructures) {
    const infraId = await upsertInfrastructure(tx, companyId, entry.key, infra);
    summary.infrastructures++;
    for (const p of infra.permissions) {
      const contactId = contactIds.get(p.email)!; // parseDirectoryFile guarantees the contact exists
      await tx
        .insertInto('permissions')
        .values({ infrastructure_id: infraId, contact_id: contactId, role: p.role, cc_all_cases: p.ccAllCases, source: 'import' })
        .onConflict((oc) => oc.columns(['infrastructure_id', 'contact_id']).doUpdateSet({ role: p.role, cc_all_cases: p.ccAllCases }))
        .execute();
      listedPermissions.push({ infrastructureId: infraId, contactId });
      summary.permissions++;
    }
    if (replace) {
      await tx
        .deleteFrom('infrastructure_addresses')
        .where('infrastructure_id', '=', infraId)
        .$if(infra.addresses.length > 0, (q) => q.where('address', 'not in', infra.addresses))
        .execute();
    }
  }

  if (replace) {
    const keepContacts = [...contactIds.values()];
    const removedPermissions = await tx
      .deleteFrom('permissions')
      .where('infrastructure_id', 'in', tx.selectFrom('infrastructures').select('id').where('company_id', '=', companyId))
      .$if(listedPermissions.length > 0, (q) =>
        q.where(({ eb, refTuple, tuple }) =>
          eb.not(eb(refTuple('infrastructure_id', 'contact_id'), 'in', listedPermissions.map((p) => tuple(p.infrastructureId, p.contactId)))),
        ),
      )
      .executeTakeFirst();
    summary.removedPermissions += Number(removedPermissions.numDeletedRows);
    const removedContacts = await tx
      .deleteFrom('contacts')
      .where('company_id', '=', companyId)
      .$if(keepContacts.length > 0, (q) => q.where('id', 'not in', keepContacts))
      .executeTakeFirst();
    summary.removedContacts += Number(removedContacts.numDeletedRows);
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
