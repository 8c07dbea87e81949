import type { DbOrTx } from '../db/connection';
import type { CompanyRole, ContactStatus, PermissionRole } from '../db/schema';

/**
 * The customer directory as staff read it: every company with its domains, infrastructures and
 * contacts, each contact with its permissions and where each came from (the imported file, an
 * approval…). Read-only. Six small queries assembled here rather than one wide join, which would
 * repeat each company per contact × permission × address.
 */

export interface DirectoryPermission {
  infrastructureKey: string;
  infrastructureName: string;
  role: PermissionRole;
  ccAllCases: boolean;
  /** 'import', 'approval', … */
  source: string;
  grantedBy: string | null;
  grantedVia: string | null;
  /** ISO 8601. */
  createdAt: string;
}

export interface DirectoryContact {
  email: string;
  name: string | null;
  companyRole: CompanyRole;
  status: ContactStatus;
  source: string;
  /** By infrastructure name. */
  permissions: DirectoryPermission[];
}

export interface DirectoryInfrastructure {
  key: string;
  name: string;
  isDefault: boolean;
  addresses: string[];
}

export interface DirectoryCompany {
  key: string;
  name: string;
  domains: string[];
  /** By name. */
  infrastructures: DirectoryInfrastructure[];
  /** By email. */
  contacts: DirectoryContact[];
}

/** Companies by name. */
export async function loadDirectory(db: DbOrTx): Promise<DirectoryCompany[]> {
  const [companies, domains, infrastructures, addresses, contacts, permissions] = await Promise.all([
    db.selectFrom('companies').select(['id', 'key', 'name']).orderBy('name').orderBy('key').execute(),
    db.selectFrom('company_domains').select(['company_id', 'domain']).orderBy('domain').execute(),
    db.selectFrom('infrastructures').select(['id', 'company_id', 'key', 'name', 'is_default']).orderBy('name').orderBy('key').execute(),
    db.selectFrom('infrastructure_addresses').select(['infrastructure_id', 'address']).orderBy('address').execute(),
    db.selectFrom('contacts').select(['id', 'company_id', 'email', 'name', 'company_role', 'status', 'source']).orderBy('email').execute(),
    db
      .selectFrom('permissions as p')
      .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
      .select(['p.contact_id', 'i.key', 'i.name', 'p.role', 'p.cc_all_cases', 'p.source', 'p.granted_by', 'p.granted_via', 'p.created_at'])
      .orderBy('i.name')
      .orderBy('i.key')
      .execute(),
  ]);
  const domainsOf = groupBy(domains, (d) => d.company_id, (d) => d.domain);
  const addressesOf = groupBy(addresses, (a) => a.infrastructure_id, (a) => a.address);
  const permissionsOf = groupBy(permissions, (p) => p.contact_id, (p): DirectoryPermission => ({
    infrastructureKey: p.key,
    infrastructureName: p.name,
    role: p.role,
    ccAllCases: p.cc_all_cases,
    source: p.source,
    grantedBy: p.granted_by,
    grantedVia: p.granted_via,
    createdAt: p.created_at.toISOString(),
  }));
  const infrastructuresOf = groupBy(infrastructures, (i) => i.company_id, (i): DirectoryInfrastructure => ({ key: i.key, name: i.name, isDefault: i.is_default, addresses: addressesOf.get(i.id) ?? [] }));
  const contactsOf = groupBy(contacts, (c) => c.company_id, (c): DirectoryContact => ({
    email: c.email,
    name: c.name,
    companyRole: c.company_role,
    status: c.status,
    source: c.source,
    permissions: permissionsOf.get(c.id) ?? [],
  }));
  return companies.map((co) => ({
    key: co.key,
    name: co.name,
    domains: domainsOf.get(co.id) ?? [],
    infrastructures: infrastructuresOf.get(co.id) ?? [],
    contacts: contactsOf.get(co.id) ?? [],
  }));
}

/** Keeps the input's order within each group. */
function groupBy<T, V>(items: T[], key: (item: T) => string, value: (item: T) => V): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(value(item));
    else groups.set(k, [value(item)]);
  }
  return groups;
}
