/**
 * The directory's tables (owned by directory/): companies and their mail domains,
 * infrastructures and the addresses that route to them, contacts and their permissions.
 * Part of `Database` (schema.ts).
 */
import type { Generated } from 'kysely';
import type { Id, Int8, Timestamp } from './columns';

export type CompanyRole = 'admin' | 'member';
export type ContactStatus = 'active' | 'pending';
export type PermissionRole = 'administrator' | 'user';

export interface CompaniesTable {
  id: Id;
  key: string;
  name: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CompanyDomainsTable {
  company_id: Int8;
  domain: string;
}

export interface InfrastructuresTable {
  id: Id;
  company_id: Int8;
  key: string;
  name: string;
  is_default: boolean;
}

export interface InfrastructureAddressesTable {
  address: string;
  infrastructure_id: Int8;
}

export interface ContactsTable {
  id: Id;
  company_id: Int8;
  email: string;
  name: string | null;
  company_role: CompanyRole;
  status: ContactStatus;
  source: Generated<string>;
  /** Named by the company's administrators: told of unverified mail in a contact's name and of admin changes. */
  security_contact: Generated<boolean>;
  phone: Generated<string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PermissionsTable {
  infrastructure_id: Int8;
  contact_id: Int8;
  role: PermissionRole;
  cc_all_cases: boolean;
  source: Generated<string>;
  granted_by: Generated<string | null>;
  granted_via: Generated<string | null>;
  created_at: Timestamp;
}
