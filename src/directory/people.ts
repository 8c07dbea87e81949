/**
 * Changes to people and rights that are not a planner's: the stranger an approval admits, and the
 * pending contacts whose first portal sign-in makes them active. Both go through the one writer.
 */
import { sql } from 'kysely';
import { auditMany } from '../audit/audit-log';
import type { Tx } from '../db/connection';
import { applyDirectoryChanges, companyPermissions, lockContacts, type AppliedChanges, type DirectoryChange, type DirectoryEffects, type DirectoryTrace } from './changes';

/**
 * Makes an authorized requester an active contact of the company (source `approval`) with a `user`
 * permission on the infrastructure, unless they have one: what Authorize on a request grants.
 * The permission's audit row carries the approval.
 */
export async function admitRequester(tx: Tx, effects: DirectoryEffects, trace: DirectoryTrace, who: { email: string; infrastructureId: string; approvalId: string }): Promise<AppliedChanges> {
  const [contact] = await lockContacts(tx, trace.companyId, [who.email]);
  const changes: DirectoryChange[] = [];
  if (!contact) {
    changes.push({ kind: 'add_contact', email: who.email, source: 'approval', values: { name: null, companyRole: 'member', status: 'active', securityContact: false, phone: null }, notes: [] });
  } else if (contact.status !== 'active') {
    const { name, company_role: companyRole, security_contact: securityContact, phone } = contact;
    changes.push({ kind: 'update_contact', email: who.email, values: { name, companyRole, status: 'active', securityContact, phone }, notes: [] });
  }
  const held = contact ? (await companyPermissions(tx, trace.companyId, [who.email])).some((p) => p.infrastructure_id === who.infrastructureId) : false;
  if (!held) {
    changes.push({
      kind: 'grant',
      email: who.email,
      infrastructureId: who.infrastructureId,
      values: { role: 'user', ccAllCases: false },
      origin: { source: 'approval', grantedBy: trace.actor, grantedVia: trace.channel },
      notes: [{ action: 'permission_granted', approvalId: who.approvalId, detail: { role: 'user' } }],
    });
  }
  return applyDirectoryChanges(tx, effects, trace, changes);
}

/**
 * A pending contact who signs in to the portal becomes active in every company that lists them
 * (the policy: pending members become effective members when they create their account), each
 * with a `member_activated` audit row. Who may open cases does not change (the rule counts pending
 * contacts alike); their portal authority does (portal/people.ts).
 */
export async function activatePendingContacts(tx: Tx, email: string): Promise<number> {
  const activated = await tx
    .updateTable('contacts')
    .set({ status: 'active', updated_at: sql`now()` })
    .where('email', '=', email)
    .where('status', '=', 'pending')
    .returning(['id', 'company_id'])
    .execute();
  await auditMany(tx, activated.map((c) => ({ actor: email, channel: 'portal', action: 'member_activated', companyId: c.company_id, subjectEmail: email, detail: { via: 'first sign-in' } })));
  return activated.length;
}
