/**
 * Which recorded changes a help desk hears of, and as what: a case event or an audit row in, the
 * public event's type, the stream it is ordered in and its own data out (null: not for outside
 * eyes, e.g. an internal note or a held reply). Pure; the relay that numbers the events and adds
 * each case's facts (reference, subject, requester) calls it (see docs/events.md).
 */

export const EVENT_TYPES = [
  'case.created',
  'case.decided',
  'case.released',
  'case.message',
  'case.status_changed',
  'case.escalated',
  'approval.requested',
  'approval.decided',
  'member.changed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (s: string): s is EventType => (EVENT_TYPES as readonly string[]).includes(s);

/** A row of case_events or audit_log, as the relay reads it. */
export interface RecordedChange {
  source: 'case_event' | 'audit';
  /** case_events.kind or audit_log.action. */
  kind: string;
  actor: string;
  channel: string | null;
  detail: Record<string, unknown>;
  caseId: string | null;
  approvalId: string | null;
  companyId: string | null;
  infrastructureId: string | null;
  subjectEmail: string | null;
}

export interface EventDraft {
  type: EventType;
  /**
   * Events of one stream reach each endpoint in the order they happened: a case's changes, an
   * approval's, a company's membership changes. Streams are independent of each other.
   */
  stream: string;
  caseId: string | null;
  data: Record<string, unknown>;
}

/** Membership and rights changes of the directory (audit actions), all reported as member.changed. */
const MEMBER_ACTIONS: ReadonlySet<string> = new Set([
  'member_added',
  'member_updated',
  'member_activated',
  'member_removed',
  'permission_granted',
  'permission_changed',
  'permission_revoked',
  'company_admin_granted',
  'company_admin_revoked',
  'security_contact_set',
]);

const APPROVAL_OUTCOMES: Record<string, string> = { approval_authorized: 'authorized', approval_ignored: 'ignored', approval_expired: 'expired' };

const str = (v: unknown): string | null => (typeof v === 'string' || typeof v === 'number' ? String(v) : null);

export function publicEventOf(change: RecordedChange): EventDraft | null {
  return change.source === 'case_event' ? caseEvent(change) : auditEvent(change);
}

function caseEvent(c: RecordedChange): EventDraft | null {
  if (c.caseId === null) return null;
  const d = c.detail;
  const draft = (type: EventType, data: Record<string, unknown>): EventDraft => ({ type, stream: `case:${c.caseId}`, caseId: c.caseId, data });
  switch (c.kind) {
    case 'created':
      return draft('case.created', { followsCaseId: str(d.followsCaseId), channel: c.channel });
    case 'decided':
      return draft('case.decided', { status: str(d.status), holdReason: str(d.holdReason), route: str(d.route) });
    case 'released':
      return draft('case.released', { by: c.actor, channel: c.channel });
    case 'ignored':
      // A held case an administrator (or staff) did not accept: its status is what changed.
      return draft('case.status_changed', { from: 'suspended', to: 'ignored', by: c.actor, channel: c.channel, cause: 'ignored' });
    case 'message_added':
      return draft('case.message', { messageId: str(d.messageId), rawMessageId: str(d.rawMessageId), author: 'customer', channel: c.channel, by: c.actor });
    case 'staff_replied':
      return draft('case.message', { messageId: str(d.messageId), author: 'staff', channel: c.channel, by: c.actor });
    case 'status_changed':
      return draft('case.status_changed', { from: str(d.from), to: str(d.to), by: c.actor, channel: c.channel, cause: str(d.cause) });
    case 'escalated':
      return draft('case.escalated', { by: c.actor, reason: str(d.reason) });
    default:
      // note_added (internal), reply_held (unverified sender), assigned, routed, approval_resent,
      // followed_up (the follow-up's own case.created names the case it follows).
      return null;
  }
}

function auditEvent(c: RecordedChange): EventDraft | null {
  if (c.kind === 'approval_requested' && c.approvalId !== null) {
    return { type: 'approval.requested', stream: `approval:${c.approvalId}`, caseId: c.caseId, data: { approvalId: c.approvalId, requester: c.subjectEmail, mailHeld: str(c.detail.mailHeld) } };
  }
  const outcome = APPROVAL_OUTCOMES[c.kind];
  if (outcome && c.approvalId !== null) {
    return { type: 'approval.decided', stream: `approval:${c.approvalId}`, caseId: c.caseId, data: { approvalId: c.approvalId, requester: c.subjectEmail, status: outcome, by: c.actor, channel: c.channel } };
  }
  if (MEMBER_ACTIONS.has(c.kind) && c.companyId !== null) {
    return { type: 'member.changed', stream: `company:${c.companyId}`, caseId: null, data: { change: c.kind, email: c.subjectEmail, by: c.actor, channel: c.channel } };
  }
  return null;
}
