import { isAnyOf } from '../db/batches';
import type { DbOrTx } from '../db/connection';
import type { SenderFacts } from './matching';

export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

/** Gathers, in four indexed look-ups, what the matching rules need to know about one message. */
export async function loadSenderFacts(db: DbOrTx, senderEmail: string, recipients: string[]): Promise<SenderFacts> {
  return (await loadSenderFactsMany(db, [{ senderEmail, recipients }]))[0]!;
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

/**
 * `loadSenderFacts` for many messages in the same five look-ups (each over every sender at once),
 * so deciding a fetch's cases costs what deciding one did. Facts come back in the order given.
 */
export async function loadSenderFactsMany(db: DbOrTx, messages: Array<{ senderEmail: string; recipients: string[] }>): Promise<SenderFacts[]> {
  if (!messages.length) return [];
  const emails = [...new Set(messages.map((m) => m.senderEmail.toLowerCase()))];
  const recipients = [...new Set(messages.flatMap((m) => m.recipients))];
  const domains = [...new Set(emails.map(emailDomain))];
  const [addressRows, contactRows, permissionRows, domainRows] = await Promise.all([
    recipients.length
      ? db
          .selectFrom('infrastructure_addresses as a')
          .innerJoin('infrastructures as i', 'i.id', 'a.infrastructure_id')
          .select(['a.address', 'i.id as infrastructureId', 'i.company_id as companyId'])
          .where(isAnyOf('a.address', recipients))
          .execute()
      : Promise.resolve([]),
    db.selectFrom('contacts').select(['email', 'company_id as companyId', 'company_role as companyRole']).where('email', 'in', emails).orderBy('id').execute(),
    db
      .selectFrom('permissions as p')
      .innerJoin('contacts as c', 'c.id', 'p.contact_id')
      .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
      .select(['c.email', 'i.id as infrastructureId', 'i.company_id as companyId', 'p.role', 'i.is_default as isDefault'])
      .where('c.email', 'in', emails)
      .orderBy('i.id')
      .execute(),
    db.selectFrom('company_domains').select(['domain', 'company_id as companyId']).where('domain', 'in', domains).orderBy('company_id').execute(),
  ]);
  const byAddress = new Map(addressRows.map((r) => [r.address, r]));
  const contactsOf = groupBy(contactRows, (r) => r.email);
  const permissionsOf = groupBy(permissionRows, (r) => r.email);
  const companiesOf = groupBy(domainRows, (r) => r.domain);

  const companyIds = [...new Set([...contactRows.map((c) => c.companyId), ...domainRows.map((d) => d.companyId)])];
  const infras = companyIds.length ? await db.selectFrom('infrastructures').select(['id', 'company_id', 'is_default']).where('company_id', 'in', companyIds).orderBy('id').execute() : [];
  const infrasOf = groupBy(infras, (i) => i.company_id);

  return messages.map((m) => {
    const email = m.senderEmail.toLowerCase();
    const contacts = (contactsOf.get(email) ?? []).map((c) => ({ companyId: c.companyId, companyRole: c.companyRole }));
    const domainCompanies = (companiesOf.get(emailDomain(email)) ?? []).map((d) => d.companyId);
    const defaultInfrastructure: Record<string, string | undefined> = {};
    for (const companyId of new Set([...contacts.map((c) => c.companyId), ...domainCompanies])) {
      const own = infrasOf.get(companyId) ?? [];
      defaultInfrastructure[companyId] = (own.find((i) => i.is_default) ?? (own.length === 1 ? own[0] : undefined))?.id;
    }
    return {
      addressedInfrastructures: m.recipients.flatMap((r) => {
        const hit = byAddress.get(r);
        return hit ? [{ infrastructureId: hit.infrastructureId, companyId: hit.companyId }] : [];
      }),
      contacts,
      permissions: (permissionsOf.get(email) ?? []).map((p) => ({ infrastructureId: p.infrastructureId, companyId: p.companyId, role: p.role, isDefault: p.isDefault })),
      domainCompanies,
      defaultInfrastructure,
    };
  });
}
