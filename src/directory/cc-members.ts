import type { DbOrTx } from '../db/connection';

/**
 * Who gets a copy of every case of an infrastructure, by infrastructure id, kept for one match
 * job: its cases mostly share a few infrastructures (a burst comes from one customer), and each
 * look-up is a round trip. A job lasts about a second; a permission changed meanwhile is seen
 * by the next job, as it would be had the job started a moment earlier.
 */
export type CcMemberLists = Map<string, Array<{ email: string; name: string | null }>>;

/**
 * Fills `lists` with the "CC in all cases" members of the infrastructures it does not hold yet,
 * in one query: a match job reads them once for a whole fetch, casework once for its case.
 */
export async function loadCcMembers(db: DbOrTx, infrastructureIds: string[], lists: CcMemberLists): Promise<void> {
  const missing = [...new Set(infrastructureIds)].filter((id) => !lists.has(id));
  if (!missing.length) return;
  const rows = await db
    .selectFrom('permissions as p')
    .innerJoin('contacts as m', 'm.id', 'p.contact_id')
    .select(['p.infrastructure_id', 'm.email', 'm.name'])
    .where('p.infrastructure_id', 'in', missing)
    .where('p.cc_all_cases', '=', true)
    .orderBy('m.id')
    .execute();
  for (const id of missing) lists.set(id, []);
  for (const row of rows) lists.get(row.infrastructure_id)!.push({ email: row.email, name: row.name });
}
