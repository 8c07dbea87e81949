import type { DbOrTx } from '../db/connection';
import type { CompanyRole, ContactStatus, PermissionRole } from '../db/schema';

/** A company the person is a contact of, with their role there. */
export interface Membership {
  companyId: string;
  companyKey: string;
  companyName: string;
  contactId: string;
  name: string | null;
  companyRole: CompanyRole;
  status: ContactStatus;
}

export interface InfrastructureGrant {
  infrastructureId: string;
  infrastructureKey: string;
  infrastructureName: string;
  companyId: string;
  role: PermissionRole;
}

/**
 * Who is signed in to the portal, as the directory says now: read at every request, so a
 * change (a removal, a demotion) takes effect at once, not at the next sign-in.
 */
export interface PortalPerson {
  email: string;
  memberships: Membership[];
  grants: InfrastructureGrant[];
  /** A participant of at least one case (cc'd, a "support contact"), member or not. */
  participant: boolean;
}

export async function loadPerson(db: DbOrTx, email: string): Promise<PortalPerson> {
  const address = email.toLowerCase();
  const [memberships, grants, participation] = await Promise.all([
    db
      .selectFrom('contacts as c')
      .innerJoin('companies as co', 'co.id', 'c.company_id')
      .select(['c.company_id', 'co.key', 'co.name as company_name', 'c.id', 'c.name', 'c.company_role', 'c.status'])
      .where('c.email', '=', address)
      .orderBy('co.name')
      .execute(),
    db
      .selectFrom('permissions as p')
      .innerJoin('contacts as c', 'c.id', 'p.contact_id')
      .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
      .select(['i.id', 'i.key', 'i.name', 'i.company_id', 'p.role'])
      .where('c.email', '=', address)
      .orderBy('i.name')
      .execute(),
    db.selectFrom('case_participants').select('case_id').where('email', '=', address).limit(1).executeTakeFirst(),
  ]);
  return {
    email: address,
    memberships: memberships.map((m) => ({ companyId: m.company_id, companyKey: m.key, companyName: m.company_name, contactId: m.id, name: m.name, companyRole: m.company_role, status: m.status })),
    grants: grants.map((g) => ({ infrastructureId: g.id, infrastructureKey: g.key, infrastructureName: g.name, companyId: g.company_id, role: g.role })),
    participant: participation !== undefined,
  };
}

/** The person's name as the directory has it (their first contact that has one), for mail and pages. */
export function personName(person: PortalPerson): string | null {
  return person.memberships.find((m) => m.name)?.name ?? null;
}

/** Whether the portal knows this address at all: a contact (active or pending) or a case participant. */
export function isKnown(person: PortalPerson): boolean {
  return person.memberships.length > 0 || person.participant;
}

/** A pending contact's roles count only once they are active (at their first sign-in), as everywhere in the portal. */
export function isCompanyAdmin(person: PortalPerson, companyId: string): boolean {
  return person.memberships.some((m) => m.companyId === companyId && m.companyRole === 'admin' && m.status === 'active');
}

export function administers(person: PortalPerson, infrastructureId: string): boolean {
  return person.grants.some((g) => g.infrastructureId === infrastructureId && g.role === 'administrator' && person.memberships.some((m) => m.companyId === g.companyId && m.status === 'active'));
}
