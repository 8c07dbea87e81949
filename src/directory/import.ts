import { sql } from 'kysely';
import type { Db, Tx } from '../db/connection';
import { DomainError } from '../errors';
import { applyDirectoryChanges, companyPermissions, lockContacts, type DirectoryEffects, type Released } from './changes';
import type { CompanyEntry, DirectoryFile } from './file-format';
import { planCompanyImport, type CompanyImportCounts, type CompanyImportState } from './import-plan';

export { PROTECTED_SOURCES } from './import-plan';

/**
 * The counts of import-plan.ts over every company (`added*`: additions to a company that existed
 * before; `changed*`: changes to existing rows, each with an audit row; with `replace`, `kept*`:
 * what the file does not list but the portal or an approval made), and the companies and
 * infrastructures upserted.
 */
export interface ImportSummary extends CompanyImportCounts {
  companies: number;
  infrastructures: number;
}

/** Who the audit log names for changes an import makes. */
export const IMPORT_ACTOR = 'directory-import';
export const IMPORT_CHANNEL = 'import';

/**
 * Upserts every company of the file in one transaction: the import lands whole or not at all.
 * The rules for contacts and permissions are `planCompanyImport`'s; they are applied through the
 * directory's one writer (changes.ts), which audits them (actor `directory-import`, channel
 * `import`) and applies the rule of who may open cases: someone the import lets open cases on an
 * infrastructure has their held cases there released and their pending request settled
 * (`effects`), someone it removes loses their portal sessions. Infrastructures are upserted, never
 * removed; with `replace`, domains and listed infrastructures' addresses the file no longer lists
 * go too. Companies the file does not mention are never touched. Returns the summary and the
 * outbox ids to queue after commit.
 */
export async function importDirectory(db: Db, file: DirectoryFile, options: { replace: boolean; effects: DirectoryEffects }): Promise<ImportSummary & { releasedCases: number; outboxIds: string[] }> {
  const { effects } = options;
  return db.transaction().execute(async (tx) => {
    const summary: ImportSummary = { companies: 0, infrastructures: 0, contacts: 0, permissions: 0, removedContacts: 0, removedPermissions: 0, addedContacts: 0, addedPermissions: 0, changedContacts: 0, changedPermissions: 0, keptContacts: 0, keptPermissions: 0 };
    const outboxIds: string[] = [];
    let releasedCases = 0;
    for (const company of file.companies) {
      const { counts, released } = await importCompany(tx, effects, company, options.replace);
      summary.companies++;
      summary.infrastructures += company.infrastructures.length;
      for (const k of Object.keys(counts) as Array<keyof CompanyImportCounts>) summary[k] += counts[k];
      outboxIds.push(...released.outboxIds);
      releasedCases += released.releasedCaseIds.length;
    }
    return { ...summary, releasedCases, outboxIds };
  });
}

async function importCompany(tx: Tx, effects: DirectoryEffects, entry: CompanyEntry, replace: boolean): Promise<{ counts: CompanyImportCounts; released: Released }> {
  const known = (await tx.selectFrom('companies').select('id').where('key', '=', entry.key).executeTakeFirst()) !== undefined;
  // The upsert locks the company's row until commit: portal changes to the same company
  // (src/portal/team.ts locks it too) wait for the import, and the import for them.
  const { id: companyId } = await tx
    .insertInto('companies')
    .values({ key: entry.key, name: entry.name })
    .onConflict((oc) => oc.column('key').doUpdateSet({ name: entry.name, updated_at: sql`now()` }))
    .returning('id')
    .executeTakeFirstOrThrow();

  if (entry.domains.length) {
    await tx.insertInto('company_domains').values(entry.domains.map((domain) => ({ company_id: companyId, domain }))).onConflict((oc) => oc.doNothing()).execute();
  }
  if (replace) {
    await tx.deleteFrom('company_domains').where('company_id', '=', companyId).$if(entry.domains.length > 0, (q) => q.where('domain', 'not in', entry.domains)).execute();
  }
  const infrastructureIds = new Map<string, string>();
  for (const infra of entry.infrastructures) infrastructureIds.set(infra.key, await upsertInfrastructure(tx, companyId, entry.key, infra, replace));

  await effects.lockRequests(tx, companyId, null);
  const contacts = await lockContacts(tx, companyId);
  const state: CompanyImportState = {
    known,
    infrastructureIds,
    contacts,
    permissions: await companyPermissions(tx, companyId),
    removedInPortal: known ? await lastPortalRemovals(tx, companyId, entry.contacts.map((c) => c.email).filter((e) => !contacts.some((c) => c.email === e))) : new Map(),
  };
  const { changes, counts } = planCompanyImport(state, entry, replace);
  const applied = await applyDirectoryChanges(tx, effects, { actor: IMPORT_ACTOR, channel: IMPORT_CHANNEL, companyId }, changes);
  return { counts, released: applied };
}

/** Who last removed each of these addresses from the company in the portal, and when. */
async function lastPortalRemovals(tx: Tx, companyId: string, emails: string[]): Promise<Map<string, { by: string; at: Date }>> {
  if (!emails.length) return new Map();
  const rows = await tx
    .selectFrom('audit_log')
    .select(['subject_email', 'actor', 'at'])
    .where('company_id', '=', companyId)
    .where('subject_email', 'in', emails)
    .where('action', '=', 'member_removed')
    .where('channel', '=', 'portal')
    .orderBy('id')
    .execute();
  return new Map(rows.map((r) => [r.subject_email!, { by: r.actor, at: r.at }]));
}

async function upsertInfrastructure(tx: Tx, companyId: string, companyKey: string, infra: CompanyEntry['infrastructures'][number], replace: boolean): Promise<string> {
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
  if (replace) {
    await tx.deleteFrom('infrastructure_addresses').where('infrastructure_id', '=', id).$if(infra.addresses.length > 0, (q) => q.where('address', 'not in', infra.addresses)).execute();
  }
  return id;
}
