import type { CompanyRole } from '../db/schema';

/**
 * The one rule of who may open cases on an infrastructure, as matching applies it to mail and as
 * every change to people and rights applies it to held cases: a company admin of the
 * infrastructure's company (active or pending), or a contact with any permission (`user` or
 * `administrator`) on it. Nobody else. Pure.
 */
export function opensCases(companyRole: CompanyRole | null, hasPermission: boolean): boolean {
  return companyRole === 'admin' || hasPermission;
}

/** What one address is in one company: its company role (null: not a contact) and where it holds a permission. */
export interface Access {
  companyRole: CompanyRole | null;
  permitted: ReadonlySet<string>;
}

export const NO_ACCESS: Access = { companyRole: null, permitted: new Set() };

/** The company's infrastructures (ids) this address may open cases on. */
export function infrastructuresOpenTo(access: Access, companyInfrastructureIds: readonly string[]): string[] {
  return companyInfrastructureIds.filter((id) => opensCases(access.companyRole, access.permitted.has(id)));
}

/** Where a change lets an address open cases that it could not open before: infrastructure ids. */
export function gainedInfrastructures(before: Access, after: Access, companyInfrastructureIds: readonly string[]): string[] {
  const had = new Set(infrastructuresOpenTo(before, companyInfrastructureIds));
  return infrastructuresOpenTo(after, companyInfrastructureIds).filter((id) => !had.has(id));
}
