import type { DbOrTx } from '../db/connection';
import type { SenderFacts } from './matching';

export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

/** Gathers, in four indexed look-ups, what the matching rules need to know about one message. */
export async function loadSenderFacts(db: DbOrTx, senderEmail: string, recipients: string[]): Promise<SenderFacts> {
  const email = senderEmail.toLowerCase();
  const [addressRows, contactRows, permissionRows, domainRows] = await Promise.all([
    recipients.length
      ? db
          .selectFrom('infrastructure_addresses as a')
          .innerJoin('infrastructures as i', 'i.id', 'a.infrastructure_id')
          .select(['a.address', 'i.id as infrastructureId', 'i.company_id as companyId'])
          .where('a.address', 'in', recipients)
          .execute()
      : Promise.resolve([]),
    db.selectFrom('contacts').select(['company_id as companyId', 'company_role as companyRole']).where('email', '=', email).execute(),
    db
      .selectFrom('permissions as p')
      .innerJoin('contacts as c', 'c.id', 'p.contact_id')
      .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
      .select(['i.id as infrastructureId', 'i.company_id as companyId', 'p.role', 'i.is_default as isDefault'])
      .where('c.email', '=', email)
      .execute(),
    db.selectFrom('company_domains').select('company_id as companyId').where('domain', '=', emailDomain(email)).execute(),
  ]);

  const byAddress = new Map(addressRows.map((r) => [r.address, r]));
  const addressedInfrastructures = recipients.flatMap((r) => {
    const hit = byAddress.get(r);
    return hit ? [{ infrastructureId: hit.infrastructureId, companyId: hit.companyId }] : [];
  });

  const companyIds = [...new Set([...contactRows.map((c) => c.companyId), ...domainRows.map((d) => d.companyId)])];
  const defaultInfrastructure: Record<string, string | undefined> = {};
  if (companyIds.length) {
    const infras = await db
      .selectFrom('infrastructures')
      .select(['id', 'company_id', 'is_default'])
      .where('company_id', 'in', companyIds)
      .execute();
    for (const companyId of companyIds) {
      const own = infras.filter((i) => i.company_id === companyId);
      const chosen = own.find((i) => i.is_default) ?? (own.length === 1 ? own[0] : undefined);
      defaultInfrastructure[companyId] = chosen?.id;
    }
  }

  return {
    addressedInfrastructures,
    contacts: contactRows,
    permissions: permissionRows,
    domainCompanies: domainRows.map((d) => d.companyId),
    defaultInfrastructure,
  };
}
