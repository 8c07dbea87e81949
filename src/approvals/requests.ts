import { sql } from 'kysely';
import type { Tx } from '../db/connection';
import type { ApprovalLinks } from '../mail/kinds';
import { caseReplyAddress } from '../cases/reply-address';
import { linkCasesToApprovals } from '../cases/holds';
import { approvalMailsLastHour, addAllToOutbox, type AnyMail } from '../mail/outbox';
import type { ApprovalDeps } from './context';
import { auditMany } from '../audit/audit-log';
import { approvalApprovers, findApproversMany, findPendingApprovals, pendingKey, type Approver, type ApprovalRow } from './repository';
import { replyAddressFor, signApprovalToken } from './tokens';
import { type CaseContext } from '../cases/case-context';
import { formatDate } from '../dates';
import { loadCcMembers, type CcMemberLists } from '../directory/cc-members';

/**
 * The copies of a newly opened case for every member with "CC in all cases" on its
 * infrastructure (the requester aside), for the caller to queue with its own mail. Replies to a
 * copy come back to the case.
 */
export async function ccCopies(tx: Tx, deps: ApprovalDeps, c: CaseContext, lists: CcMemberLists = new Map()): Promise<AnyMail[]> {
  if (c.infrastructureId) await loadCcMembers(tx, [c.infrastructureId], lists);
  return copiesFromLists(deps, c, lists);
}

/** Where replies to mail about a case go: back to the case (its signed reply address). */
export function caseReplyTo(deps: ApprovalDeps, caseId: string): string {
  return caseReplyAddress(caseId, deps.settings.linkSecret, deps.outbox.supportAddress);
}

export function copiesFromLists(deps: ApprovalDeps, c: CaseContext, lists: CcMemberLists): AnyMail[] {
  const infrastructure = c.infrastructure;
  if (!c.infrastructureId || !infrastructure) return [];
  const replyTo = caseReplyTo(deps, c.id);
  return (lists.get(c.infrastructureId) ?? [])
    .filter((m) => m.email !== c.requesterEmail)
    .map((m) => ({ kind: 'case_copy', props: { case: c.view, infrastructure, recipient: { name: m.name, email: m.email } }, to: m.email, caseId: c.id, companyId: c.companyId, replyTo }));
}

/** The links one approver gets for one approval: their own token, in the URL and the Reply-To. */
export function approvalLinks(deps: ApprovalDeps, approval: Pick<ApprovalRow, 'id' | 'expires_at'>, approverContactId: string): ApprovalLinks {
  const token = signApprovalToken(deps.settings.linkSecret, {
    approvalId: approval.id,
    approverId: approverContactId,
    expiresAt: Math.floor(approval.expires_at.getTime() / 1000),
  });
  const page = `${deps.settings.publicUrl}/approvals/${token}`;
  return {
    token,
    page,
    authorize: `${page}?decision=authorize`,
    ignore: `${page}?decision=ignore`,
    replyAddress: replyAddressFor(token, deps.outbox.supportAddress),
    expiresAt: formatDate(approval.expires_at),
  };
}

async function pendingCaseCount(tx: Tx, approvalId: string): Promise<number> {
  const r = await tx.selectFrom('cases').select((eb) => eb.fn.countAll<string>().as('n')).where('approval_id', '=', approvalId).where('status', '=', 'suspended').executeTakeFirstOrThrow();
  return Number(r.n);
}

/** One approval's round of mail: a request (or reminder) to each of its approvers. */
export interface ApproverRound {
  approval: ApprovalRow;
  c: CaseContext;
  kind: 'approval_request' | 'approval_reminder';
  /** The approvers and waiting cases, when the caller has them (it just created the request). */
  known?: { approvers: Approver[]; pendingCases: number };
}

/**
 * Mails every approver of an approval their own request (or reminder), unless the company's
 * hourly cap is reached. Returns the outbox ids, or null when the cap held the round back.
 */
export async function mailApprovers(tx: Tx, deps: ApprovalDeps, approval: ApprovalRow, c: CaseContext, kind: ApproverRound['kind']): Promise<string[] | null> {
  return (await mailApproversMany(tx, deps, [{ approval, c, kind }]))[0]!;
}

/**
 * `mailApprovers` for several rounds, one insert for all their mail. The cap counts the rounds in
 * the order given: a round is held back whole when the mail before it in the same call, with what
 * the company had in the last hour, leaves no room for it. Results in the order given.
 */
export async function mailApproversMany(tx: Tx, deps: ApprovalDeps, rounds: ApproverRound[]): Promise<Array<string[] | null>> {
  const approversOf: Approver[][] = [];
  for (const r of rounds) approversOf.push(r.known?.approvers ?? (await approvalApprovers(tx, r.approval.id)));
  const mailable = rounds.map((r, i) => Boolean(r.c.infrastructure && approversOf[i]!.length));
  const sentLastHour = await approvalMailsLastHour(tx, rounds.filter((_, i) => mailable[i]).map((r) => r.approval.company_id));
  const results: Array<string[] | null> = rounds.map(() => []);
  const mails: AnyMail[] = [];
  const roundOf: number[] = [];
  for (const [i, { approval, c, kind, known }] of rounds.entries()) {
    const approvers = approversOf[i]!;
    if (!mailable[i] || !c.infrastructure) continue;
    const sent = sentLastHour.get(approval.company_id) ?? 0;
    if (sent + approvers.length > deps.settings.mailPerHour) {
      results[i] = null;
      continue;
    }
    sentLastHour.set(approval.company_id, sent + approvers.length);
    const pendingCases = known?.pendingCases ?? (await pendingCaseCount(tx, approval.id));
    const infrastructure = c.infrastructure;
    for (const approver of approvers) {
      const links = approvalLinks(deps, approval, approver.contactId);
      mails.push({
        kind,
        props: { case: c.view, infrastructure, approver: { name: approver.name, email: approver.email }, links, pendingCases },
        to: approver.email,
        caseId: c.id,
        approvalId: approval.id,
        companyId: approval.company_id,
        replyTo: links.replyAddress,
      });
      roundOf.push(i);
    }
  }
  const ids = await addAllToOutbox(tx, deps.outbox, mails);
  ids.forEach((id, k) => id !== null && results[roundOf[k]!]!.push(id));
  return results;
}

/** A held case an administrator can release: routed to an infrastructure of a company. */
export type RoutedCase = CaseContext & { companyId: string; infrastructureId: string };

/**
 * For held, routed cases, in their decision's transaction: each joins its requester's pending
 * approval on its infrastructure, or the first case of a requester opens a new one, mailed to each
 * approver (a case that joins mails nobody: one round of mail per request). Any number of cases,
 * a statement for each step over all of them. Cases in the order they came in, so the first
 * opens the request. `pending`: their requesters' pending approvals, locked by the caller
 * (`findPendingApprovals`) before it took any other lock, as an approval's decision does.
 * Returns each case's outbox ids, by case id.
 */
export async function requestApprovals(tx: Tx, deps: ApprovalDeps, cases: RoutedCase[], pending: Map<string, ApprovalRow>): Promise<Map<string, string[]>> {
  const keyOf = (c: RoutedCase) => pendingKey(c.requesterEmail, c.infrastructureId);
  const approvals = new Map(pending);
  // The first case of each requester without a pending request opens one.
  const firsts: RoutedCase[] = [];
  const opening = new Set<string>();
  for (const c of cases) {
    if (approvals.has(keyOf(c)) || opening.has(keyOf(c))) continue;
    opening.add(keyOf(c));
    firsts.push(c);
  }
  const approversOf = await findApproversMany(tx, firsts);
  const created = await createApprovals(tx, deps, firsts, approversOf);
  // A concurrent transaction may have opened some of them a moment ago: those cases join it.
  const raced = firsts.filter((c) => !created.has(keyOf(c)));
  for (const [key, row] of [...created, ...(await findPendingApprovals(tx, raced))]) approvals.set(key, row);
  const approvalOf = (c: RoutedCase) => {
    const approval = approvals.get(keyOf(c));
    if (!approval) throw new Error(`no approval for case ${c.reference} after creating one`);
    return approval;
  };
  await linkCasesToApprovals(tx, cases.map((c) => ({ caseId: c.id, approvalId: approvalOf(c).id })));
  const opens = (c: RoutedCase) => created.get(keyOf(c))?.first_case_id === c.id;
  await auditMany(
    tx,
    cases.map((c) => {
      const approval = approvalOf(c);
      const scope = { actor: 'intake', channel: 'system', companyId: c.companyId, infrastructureId: c.infrastructureId, caseId: c.id, approvalId: approval.id, subjectEmail: c.requesterEmail };
      return opens(c) ? { ...scope, action: 'approval_requested', detail: { mailHeld: approval.mail_held } } : { ...scope, action: 'approval_joined' };
    }),
  );
  // Each new request's mail, which counts every case of this call waiting on it.
  const rounds = firsts.flatMap((c, i): ApproverRound[] => {
    const approval = created.get(keyOf(c));
    if (!approval || approval.mail_held) return [];
    return [{ approval, c, kind: 'approval_request', known: { approvers: approversOf[i]!, pendingCases: cases.filter((other) => approvalOf(other).id === approval.id).length } }];
  });
  const sent = await mailApproversMany(tx, deps, rounds);
  const capped = rounds.filter((_, i) => sent[i] === null);
  if (capped.length) {
    await tx.updateTable('approvals').set({ mail_held: 'capped' }).where('id', 'in', capped.map((r) => r.approval.id)).execute();
    for (const r of capped) deps.log.warn({ case: r.c.reference, approvalId: r.approval.id }, 'approval mail held back by the hourly cap');
  }
  return new Map(rounds.map((r, i) => [r.c.id, sent[i] ?? []]));
}

/** New pending approvals, one per case given (the first of its requester), in one insert; by `pendingKey`. */
async function createApprovals(tx: Tx, deps: ApprovalDeps, firsts: RoutedCase[], approversOf: Approver[][]): Promise<Map<string, ApprovalRow>> {
  if (!firsts.length) return new Map();
  const remind = deps.settings.remindAfterMs < deps.settings.ttlMs;
  // In key order: two jobs inserting the same new requesters wait for each other's rows in one
  // order, not in the order each met them.
  const byKeyOrder = firsts
    .map((c, i) => ({ c, approvers: approversOf[i]!, key: pendingKey(c.requesterEmail, c.infrastructureId) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const created = await tx
    .insertInto('approvals')
    .values(
      byKeyOrder.map(({ c, approvers }) => ({
        company_id: c.companyId,
        infrastructure_id: c.infrastructureId,
        requester_email: c.requesterEmail,
        status: 'pending' as const,
        mail_held: approvers.length ? null : ('no_approvers' as const),
        first_case_id: c.id,
        expires_at: sql<Date>`now() + make_interval(secs => ${deps.settings.ttlMs / 1000})`,
        remind_at: remind ? sql<Date>`now() + make_interval(secs => ${deps.settings.remindAfterMs / 1000})` : null,
        reminded_at: null,
        decided_at: null,
        decided_by: null,
        channel: null,
      })),
    )
    // A concurrent case of the same requester may have opened the request a moment ago. The
    // partial index's predicate is a literal: as a parameter, a prepared statement's generic plan
    // could not match the index ("no unique or exclusion constraint matching").
    .onConflict((oc) => oc.columns(['requester_email', 'infrastructure_id']).where('status', '=', sql.lit('pending')).doNothing())
    .returningAll()
    .execute();
  const byKey = new Map(created.map((a) => [pendingKey(a.requester_email, a.infrastructure_id), a]));
  const approvers = firsts.flatMap((c, i) => {
    const approval = byKey.get(pendingKey(c.requesterEmail, c.infrastructureId));
    return approval ? approversOf[i]!.map((a) => ({ approval_id: approval.id, contact_id: a.contactId, email: a.email })) : [];
  });
  if (approvers.length) await tx.insertInto('approval_approvers').values(approvers).execute();
  return byKey;
}
