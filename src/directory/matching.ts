import type { CompanyRole, HoldReason, PermissionRole } from '../db/schema';
import { opensCases } from './access';

/**
 * Everything the directory knows that bears on one message, gathered by `loadSenderFacts`.
 * Kept as plain data so the policy below is a pure function, tested without a database.
 */
export interface SenderFacts {
  /** Infrastructures whose address appears among the recipients, in recipient order. */
  addressedInfrastructures: Array<{ infrastructureId: string; companyId: string }>;
  /** The sender's contact rows, one per company that lists them. */
  contacts: Array<{ companyId: string; companyRole: CompanyRole }>;
  permissions: Array<{ infrastructureId: string; companyId: string; role: PermissionRole; isDefault: boolean }>;
  /** Companies that claim the sender's domain. */
  domainCompanies: string[];
  /** The default (or only) infrastructure of each company above, where there is one. */
  defaultInfrastructure: Record<string, string | undefined>;
}

export type RouteRule = 'recipient' | 'permission' | 'contact_company' | 'domain';

export interface Route {
  infrastructureId: string;
  companyId: string;
  rule: RouteRule;
}

export type MatchDecision =
  | { status: 'open'; route: Route }
  | { status: 'suspended'; holdReason: Exclude<HoldReason, 'unrouted'>; route: Route }
  | { status: 'suspended'; holdReason: 'unrouted'; route: null; companyId: string | null };

function only<T>(values: T[]): T | undefined {
  return values.length === 1 ? values[0] : undefined;
}

function defaultRoute(facts: SenderFacts, companyId: string, rule: RouteRule): Route | null {
  const infrastructureId = facts.defaultInfrastructure[companyId];
  return infrastructureId ? { infrastructureId, companyId, rule } : null;
}

/**
 * Rule 1: which infrastructure a message is for. In order: an infrastructure address among the
 * recipients; the sender's own permissions when they name one infrastructure (or the company
 * default among several); the company of a sender who is a contact of exactly one company (an
 * admin writing from any address); the company that owns the sender's domain. Else unrouted.
 */
export function routeMessage(facts: SenderFacts): Route | null {
  const addressed = facts.addressedInfrastructures[0];
  if (addressed) return { ...addressed, rule: 'recipient' };

  const permitted = [...new Map(facts.permissions.map((p) => [p.infrastructureId, p])).values()];
  const single = only(permitted) ?? only(permitted.filter((p) => p.isDefault));
  if (single) return { infrastructureId: single.infrastructureId, companyId: single.companyId, rule: 'permission' };

  const contactCompany = only([...new Set(facts.contacts.map((c) => c.companyId))]);
  const viaContact = contactCompany ? defaultRoute(facts, contactCompany, 'contact_company') : null;
  if (viaContact) return viaContact;

  const domainCompany = only(facts.domainCompanies);
  return domainCompany ? defaultRoute(facts, domainCompany, 'domain') : null;
}

/**
 * Rules 1 and 2 together. A company admin may open cases on every infrastructure of the company;
 * a contact (active or pending) with a permission on the infrastructure may open cases there;
 * another contact of that company is not permitted; anyone else is unknown.
 */
export function decide(facts: SenderFacts): MatchDecision {
  const route = routeMessage(facts);
  if (!route) {
    const companyId = only([...new Set([...facts.contacts.map((c) => c.companyId), ...facts.domainCompanies])]) ?? null;
    return { status: 'suspended', holdReason: 'unrouted', route: null, companyId };
  }
  const contact = facts.contacts.find((c) => c.companyId === route.companyId);
  if (opensCases(contact?.companyRole ?? null, facts.permissions.some((p) => p.infrastructureId === route.infrastructureId))) return { status: 'open', route };
  return { status: 'suspended', holdReason: contact ? 'not_permitted' : 'unknown_sender', route };
}
