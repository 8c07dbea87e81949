import { sql } from 'kysely';
import type { Tx } from '../db/connection';
import type { ApprovalLinks, MailProps, SecurityEvent } from '../mail/kinds';
import { caseReplyAddress } from '../cases/reply-address';
import { approvalMailsLastHour, queueMail, queueMails, written, type AnyMail } from '../mail/outbox';
import type { ApprovalDeps } from './context';
import { approvalApprovers, audit, findApprovers, findPendingApproval, type Approver, type ApprovalRow } from './repository';
import { replyAddressFor, signApprovalToken } from './tokens';
import { formatDate, loadCaseContext, loadCaseContexts, type CaseContext } from './views';

/**
 * Who gets a copy of every case of an infrastructure, by infrastructure id, kept for one match
 * job: its cases mostly share a few infrastructures (a burst comes from one customer), and each
 * look-up is a round trip. A job lasts about a second; a permission changed meanwhile is seen
 * by the next job, as it would be had the job started a moment earlier.
 */
export type CcMemberLists = Map<string, Array<{ email: string; name: string | null }>>;

/**
 * Fills `lists` with the "CC in all cases" members of the infrastructures it does not hold yet,
 * in one query for all of them.
 */
async function loadCcMembers(tx: Tx, infrastructureIds: string[], lists: CcMemberLists): Promise<void> {
  const missing = [...new Set(infrastructureIds)].filter((id) => !lists.has(id));
  if (!missing.length) return;
  const rows = await tx
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

/**
 * The copies of a newly opened case for every member with "CC in all cases" on its
 * infrastructure (the requester aside), for the caller to queue with its own mail. Replies to a
 * copy come back to the case.
 */
export async function ccCopies(tx: Tx, deps: ApprovalDeps, c: CaseContext, lists: CcMemberLists = new Map()): Promise<AnyMail[]> {
  if (c.infrastructureId) await loadCcMembers(tx, [c.infrastructureId], lists);
  return copiesFromLists(deps, c, lists);
}

function copiesFromLists(deps: ApprovalDeps, c: CaseContext, lists: CcMemberLists): AnyMail[] {
  const infrastructure = c.infrastructure;
  if (!c.infrastructureId || !infrastructure) return [];
  const replyTo = caseReplyAddress(c.id, deps.settings.linkSecret, deps.outbox.supportAddress);
  return (lists.get(c.infrastructureId) ?? [])
    .filter((m) => m.email !== c.requesterEmail)
    .map((m) => ({ kind: 'case_copy', props: { case: c.view, infrastructure, recipient: { name: m.name, email: m.email } }, to: m.email, caseId: c.id, companyId: c.companyId, replyTo }));
}

/** Holds an administrator can lift by authorizing the sender. */
const APPROVABLE: ReadonlySet<string> = new Set(['unknown_sender', 'not_permitted', 'sender_not_verified']);

function humanSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
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

/**
 * Mails every approver of an approval their own request (or reminder), unless the company's
 * hourly cap is reached. Returns the outbox ids, or null when the cap held the round back.
 * `known`: the approvers and waiting cases, when the caller has them (it just created the request).
 */
export async function mailApprovers(
  tx: Tx,
  deps: ApprovalDeps,
  approval: ApprovalRow,
  c: CaseContext,
  kind: 'approval_request' | 'approval_reminder',
  known?: { approvers: Approver[]; pendingCases: number },
): Promise<string[] | null> {
  const approvers = known?.approvers ?? (await approvalApprovers(tx, approval.id));
  if (!c.infrastructure || !approvers.length) return [];
  if ((await approvalMailsLastHour(tx, approval.company_id)) + approvers.length > deps.settings.mailPerHour) return null;
  const pendingCases = known?.pendingCases ?? (await pendingCaseCount(tx, approval.id));
  const infrastructure = c.infrastructure;
  const mails = approvers.map((approver): AnyMail => {
    const links = approvalLinks(deps, approval, approver.contactId);
    return {
      kind,
      props: { case: c.view, infrastructure, approver: { name: approver.name, email: approver.email }, links, pendingCases },
      to: approver.email,
      caseId: c.id,
      approvalId: approval.id,
      companyId: approval.company_id,
      replyTo: links.replyAddress,
    };
  });
  return written(...(await queueMails(tx, deps.outbox, mails)));
}

/** What one security alert says; the recipients are the company's security contacts. */
export interface SecurityAlert {
  companyId: string;
  event: SecurityEvent;
  person: { name: string | null; email: string };
  actor: { name: string | null; email: string } | null;
  case: MailProps['security_alert']['case'];
  /** Audit scope of the alert's cause, for the row written when the cap holds the alert back. */
  caseId?: string | null;
  subjectEmail?: string | null;
}

/**
 * Security alerts written for a company in the last hour. Takes a per-company lock for the rest of
 * the transaction, so concurrent alerts count one another (as `approvalMailsLastHour` does).
 */
async function securityAlertsLastHour(tx: Tx, companyId: string): Promise<number> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`case-intake:security-alert:${companyId}`}, 0))`.execute(tx);
  const row = await tx
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('company_id', '=', companyId)
    .where('kind', '=', 'security_alert')
    .where('created_at', '>', sql<Date>`now() - interval '1 hour'`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Mails every security contact of the company (active or pending) the alert, in the caller's
 * transaction. Capped like approval mail: at most APPROVAL_MAIL_PER_HOUR security alerts per
 * company per hour (a budget of their own, so a flood of alerts never delays an approval request
 * and the other way round), a whole round or none. A round the cap holds back is not sent later
 * (an alert an hour late helps nobody): it is logged and recorded in the audit log
 * (`security_alert_capped`). Returns the outbox ids to queue after commit.
 */
export async function queueSecurityAlerts(tx: Tx, deps: ApprovalDeps, alert: SecurityAlert): Promise<string[]> {
  const recipients = await tx
    .selectFrom('contacts')
    .select(['email', 'name'])
    .where('company_id', '=', alert.companyId)
    .where('security_contact', '=', true)
    .orderBy('id')
    .execute();
  if (!recipients.length) return [];
  const sentLastHour = await securityAlertsLastHour(tx, alert.companyId);
  if (sentLastHour + recipients.length > deps.settings.mailPerHour) {
    await audit(tx, {
      actor: 'system',
      channel: 'system',
      action: 'security_alert_capped',
      companyId: alert.companyId,
      caseId: alert.caseId ?? null,
      subjectEmail: alert.subjectEmail ?? alert.person.email,
      detail: { event: alert.event, person: alert.person.email, recipients: recipients.map((r) => r.email), sentLastHour, perHour: deps.settings.mailPerHour },
    });
    deps.log.warn({ companyId: alert.companyId, event: alert.event, recipients: recipients.length }, 'security alert held back by the hourly cap');
    return [];
  }
  const company = await tx.selectFrom('companies').select('name').where('id', '=', alert.companyId).executeTakeFirstOrThrow();
  const at = formatDate(new Date());
  const teamUrl = `${deps.settings.publicUrl.replace(/\/$/, '')}/portal/team`;
  const mails = recipients.map(
    (r): AnyMail => ({
      kind: 'security_alert',
      to: r.email,
      companyId: alert.companyId,
      caseId: alert.caseId ?? null,
      props: { recipient: { name: r.name, email: r.email }, companyName: company.name, event: alert.event, person: alert.person, actor: alert.actor, case: alert.case, at, teamUrl },
    }),
  );
  return written(...(await queueMails(tx, deps.outbox, mails)));
}

/**
 * A case claiming the address of a contact of its company was held as `sender_not_verified`:
 * the company's security contacts are told (reference, subject and time; not the body, which is
 * the unverified sender's).
 */
async function alertUnverifiedSender(tx: Tx, deps: ApprovalDeps, c: CaseContext): Promise<string[]> {
  if (c.holdReason !== 'sender_not_verified' || !c.companyId) return [];
  const contact = await tx.selectFrom('contacts').select(['email', 'name']).where('company_id', '=', c.companyId).where('email', '=', c.requesterEmail).executeTakeFirst();
  if (!contact) return [];
  return queueSecurityAlerts(tx, deps, {
    companyId: c.companyId,
    event: 'sender_not_verified',
    person: { name: contact.name, email: contact.email },
    actor: null,
    case: { reference: c.reference, subject: c.view.subject, receivedAt: c.view.receivedAt },
    caseId: c.id,
    subjectEmail: c.requesterEmail,
  });
}

async function createApproval(tx: Tx, deps: ApprovalDeps, c: CaseContext & { companyId: string; infrastructureId: string }, approvers: Approver[]): Promise<ApprovalRow | undefined> {
  const remind = deps.settings.remindAfterMs < deps.settings.ttlMs;
  const created = await tx
    .insertInto('approvals')
    .values({
      company_id: c.companyId,
      infrastructure_id: c.infrastructureId,
      requester_email: c.requesterEmail,
      status: 'pending',
      mail_held: approvers.length ? null : 'no_approvers',
      first_case_id: c.id,
      expires_at: sql<Date>`now() + make_interval(secs => ${deps.settings.ttlMs / 1000})`,
      remind_at: remind ? sql<Date>`now() + make_interval(secs => ${deps.settings.remindAfterMs / 1000})` : null,
      reminded_at: null,
      decided_at: null,
      decided_by: null,
      channel: null,
    })
    // A concurrent case of the same requester may have opened the request a moment ago. The
    // partial index's predicate is a literal: as a parameter, a prepared statement's generic plan
    // could not match the index ("no unique or exclusion constraint matching").
    .onConflict((oc) => oc.columns(['requester_email', 'infrastructure_id']).where('status', '=', sql.lit('pending')).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (created && approvers.length) {
    await tx.insertInto('approval_approvers').values(approvers.map((a) => ({ approval_id: created.id, contact_id: a.contactId, email: a.email }))).execute();
  }
  return created;
}

/** Mail to the requester threads with their message, and replies to it come back to the case. */
function threadingFor(deps: ApprovalDeps, c: CaseContext) {
  return { caseId: c.id, companyId: c.companyId, inReplyTo: c.messageId, to: c.requesterEmail, replyTo: caseReplyAddress(c.id, deps.settings.linkSecret, deps.outbox.supportAddress) };
}

/**
 * What follows the opening of cases decided together, in their transaction: each requester's
 * acknowledgement and each case's copies, written in one insert for all of them. Takes only
 * per-address locks (the answers ceiling), all in one sorted statement, so it runs beside other
 * decisions without deadlock. Returns each case's outbox ids, by case id.
 */
export async function onCasesOpened(tx: Tx, deps: ApprovalDeps, caseIds: string[], ccLists: CcMemberLists = new Map()): Promise<Map<string, string[]>> {
  const contexts = await loadCaseContexts(tx, caseIds);
  const opened = [...contexts.values()].filter((c) => c.status === 'open');
  return queueOpenedMail(tx, deps, opened, ccLists);
}

async function queueOpenedMail(tx: Tx, deps: ApprovalDeps, opened: CaseContext[], ccLists: CcMemberLists): Promise<Map<string, string[]>> {
  await loadCcMembers(tx, opened.flatMap((c) => (c.infrastructureId ? [c.infrastructureId] : [])), ccLists);
  const mails = opened.flatMap((c): AnyMail[] => [
    { ...threadingFor(deps, c), kind: 'acknowledgement', props: { case: c.view, infrastructure: c.infrastructure } },
    ...copiesFromLists(deps, c, ccLists),
  ]);
  const ids = await queueMails(tx, deps.outbox, mails);
  const byCase = new Map(opened.map((c) => [c.id, [] as string[]]));
  mails.forEach((mail, i) => {
    const id = ids[i];
    if (id) byCase.get(mail.caseId!)!.push(id);
  });
  return byCase;
}

/**
 * What follows a matching decision, in the decision's transaction: the requester's
 * acknowledgement or held notice, and for a held, routed case the approval request (a new one,
 * mailed to each approver, or the pending one the case joins without a second round of mail).
 * Returns the outbox ids to queue once the transaction commits.
 */
export async function onCaseDecided(tx: Tx, deps: ApprovalDeps, caseId: string, ccLists: CcMemberLists = new Map()): Promise<string[]> {
  const c = await loadCaseContext(tx, caseId);
  if (!c) return [];
  if (c.status === 'open') return (await queueOpenedMail(tx, deps, [c], ccLists)).get(c.id)!;
  const threading = threadingFor(deps, c);
  if (c.status !== 'suspended') return [];
  const awaitingApproval = Boolean(c.companyId && c.infrastructureId && c.holdReason !== null && APPROVABLE.has(c.holdReason));
  // A rate-limited sender is mailed nothing at all: that is what stops a loop.
  if (c.holdReason === 'rate_limited') return [];
  const tooLarge = c.holdReason === 'too_large' ? { size: humanSize(c.sizeBytes), limit: humanSize(deps.settings.maxMessageBytes) } : null;
  const outboxIds = written(await queueMail(tx, deps.outbox, { ...threading, kind: 'held_notice', props: { case: c.view, awaitingApproval, tooLarge } }));
  outboxIds.push(...(await alertUnverifiedSender(tx, deps, c)));
  if (!awaitingApproval || !c.companyId || !c.infrastructureId) return outboxIds;

  const routed = { ...c, companyId: c.companyId, infrastructureId: c.infrastructureId };
  let approval = await findPendingApproval(tx, c.requesterEmail, c.infrastructureId);
  // Whom a request this transaction creates goes to (null when the case joins a pending one).
  let created: Approver[] | null = null;
  if (!approval) {
    const approvers = await findApprovers(tx, c.infrastructureId, c.companyId, c.requesterEmail);
    approval = await createApproval(tx, deps, routed, approvers);
    if (approval) created = approvers;
    else approval = await findPendingApproval(tx, c.requesterEmail, c.infrastructureId);
    if (!approval) throw new Error(`no approval for case ${c.reference} after creating one`);
  }
  await tx.updateTable('cases').set({ approval_id: approval.id }).where('id', '=', c.id).execute();
  if (!created) {
    await audit(tx, { actor: 'intake', channel: 'system', action: 'approval_joined', companyId: c.companyId, infrastructureId: c.infrastructureId, caseId: c.id, approvalId: approval.id, subjectEmail: c.requesterEmail });
    return outboxIds;
  }
  await audit(tx, { actor: 'intake', channel: 'system', action: 'approval_requested', companyId: c.companyId, infrastructureId: c.infrastructureId, caseId: c.id, approvalId: approval.id, subjectEmail: c.requesterEmail, detail: { mailHeld: approval.mail_held } });
  if (approval.mail_held) return outboxIds;
  // Created just now, the request has its approvers in hand and one case waiting: this one.
  const sent = await mailApprovers(tx, deps, approval, c, 'approval_request', { approvers: created, pendingCases: 1 });
  if (sent === null) {
    await tx.updateTable('approvals').set({ mail_held: 'capped' }).where('id', '=', approval.id).execute();
    deps.log.warn({ case: c.reference, approvalId: approval.id }, 'approval mail held back by the hourly cap');
    return outboxIds;
  }
  return [...outboxIds, ...sent];
}
