/**
 * Security alerts: mail to a company's security contacts when something touches who may act for
 * it (a permission change in the portal, a case from a contact's address that our receiving server
 * did not vouch for), under an hourly cap of their own.
 */
import type { Tx } from '../db/connection';
import type { MailProps, SecurityEvent } from '../mail/kinds';
import { lockedMailCounts, addAllToOutbox, written, type AnyMail } from '../mail/outbox';
import type { ApprovalDeps } from './context';
import { audit } from '../audit/audit-log';
import { type CaseContext } from '../cases/case-context';
import { formatDate } from '../dates';

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

/** Security alerts written for a company in the last hour, under the company's lock (`lockedMailCounts`). */
async function securityAlertsLastHour(tx: Tx, companyId: string): Promise<number> {
  return (await lockedMailCounts(tx, 'security-alert', 'company_id', [companyId], ['security_alert'])).get(companyId) ?? 0;
}

/**
 * Mails every security contact of the company (active or pending) the alert, in the caller's
 * transaction. Capped like approval mail: at most APPROVAL_MAIL_PER_HOUR security alerts per
 * company per hour (a budget of their own, so a flood of alerts never delays an approval request
 * and the other way round), a whole round or none. A round the cap holds back is not sent later
 * (an alert an hour late helps nobody): it is logged and recorded in the audit log
 * (`security_alert_capped`). Returns the outbox ids to queue after commit.
 */
export async function mailSecurityAlerts(tx: Tx, deps: ApprovalDeps, alert: SecurityAlert): Promise<string[]> {
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
  return written(...(await addAllToOutbox(tx, deps.outbox, mails)));
}

/**
 * A case claiming the address of a contact of its company was held as `sender_not_verified`:
 * the company's security contacts are told (reference, subject and time; not the body, which is
 * the unverified sender's).
 */
export async function alertUnverifiedSender(tx: Tx, deps: ApprovalDeps, c: CaseContext): Promise<string[]> {
  if (c.holdReason !== 'sender_not_verified' || !c.companyId) return [];
  const contact = await tx.selectFrom('contacts').select(['email', 'name']).where('company_id', '=', c.companyId).where('email', '=', c.requesterEmail).executeTakeFirst();
  if (!contact) return [];
  return mailSecurityAlerts(tx, deps, {
    companyId: c.companyId,
    event: 'sender_not_verified',
    person: { name: contact.name, email: contact.email },
    actor: null,
    case: { reference: c.reference, subject: c.view.subject, receivedAt: c.view.receivedAt },
    caseId: c.id,
    subjectEmail: c.requesterEmail,
  });
}
