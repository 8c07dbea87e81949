/**
 * Every kind of automatic mail and the data its templates receive. Values are plain strings
 * prepared by the caller (dates already formatted); templates only lay them out, and handlebars
 * escapes every value in the HTML bodies.
 */
export interface CaseView {
  reference: string;
  subject: string;
  /** The first lines of the customer's message, plain text. */
  excerpt: string;
  requesterEmail: string;
  requesterName: string | null;
  /** e.g. "23 Nov 2026, 08:00 UTC" */
  receivedAt: string;
}

export interface InfrastructureView {
  key: string;
  name: string;
  companyName: string;
}

export interface ApprovalLinks {
  /** The approver's signed token, which every link below carries: a secret part (see `secretsOf`). */
  token: string;
  /** PUBLIC_URL/approvals/<token>: a page that shows the case and the two buttons. */
  page: string;
  /** The same page with Authorize preselected (still needs a click: scanners open links). */
  authorize: string;
  ignore: string;
  /** Reply-To address that carries the token, for approval by reply. */
  replyAddress: string;
  /** e.g. "30 Nov 2026, 08:00 UTC" */
  expiresAt: string;
}

export interface MailProps {
  /** To the requester: the case is open. */
  acknowledgement: { case: CaseView; infrastructure: InfrastructureView | null };
  /**
   * To the requester: the case is held. With `awaitingApproval`, it waits for their company's
   * administrators (never named); without, support has to route it first (unrouted).
   */
  held_notice: { case: CaseView; awaitingApproval: boolean; tooLarge: { size: string; limit: string } | null };
  /**
   * To the requester: their approval request expired with nobody's answer; the case stays held.
   * What they can do (ask an administrator, who can still decide in the portal; reply). Never
   * names the administrators, as held_notice does not.
   */
  approval_expired_notice: { case: CaseView; heldCases: number; validDays: number };
  /** To one approver: authorize or ignore this requester. */
  approval_request: { case: CaseView; infrastructure: InfrastructureView; approver: { name: string | null; email: string }; links: ApprovalLinks; pendingCases: number };
  /** To one approver: the request above still waits. */
  approval_reminder: { case: CaseView; infrastructure: InfrastructureView; approver: { name: string | null; email: string }; links: ApprovalLinks; pendingCases: number };
  /**
   * To the requester: the case is open now. `authorized`: an administrator made them a member;
   * false: support released this one case.
   */
  released_notice: { case: CaseView; infrastructure: InfrastructureView; authorized: boolean };
  /** To a member with "CC in all cases" on the infrastructure: a new case is open there. */
  case_copy: { case: CaseView; infrastructure: InfrastructureView; recipient: { name: string | null; email: string } };
  /** To the approver who replied by mail: what their reply did. */
  decision_confirmation: {
    case: CaseView;
    infrastructure: InfrastructureView;
    decision: 'authorize' | 'ignore';
    /** Set when the reply came after someone else had decided: it changed nothing. */
    earlier: { by: string; channel: string; at: string; decision: 'authorize' | 'ignore' } | null;
    releasedCases: number;
  };
  /**
   * To the approver whose reply to their request decided nothing: what we read in it, why it
   * decided nothing, and their request's links again.
   */
  approval_reply_undecided: { case: CaseView; infrastructure: InfrastructureView; read: string; because: string; links: ApprovalLinks };
  /**
   * A support engineer's answer, to the requester with the case's participants in Cc: a person's
   * mail (no Auto-Submitted), threaded on the case's latest message, its attachments with it.
   * `body` is what the engineer wrote, its lines kept.
   */
  /** `staff`: who answered; null for a reply through the API, signed by the support team alone. */
  staff_reply: { case: CaseView; body: string; staff: { name: string | null; email: string } | null; status: string | null };
  /**
   * To a member with "CC in all cases" on the case's infrastructure: staff answered the case
   * (`body`, lines kept) or changed its status (`status`, in words).
   */
  case_update: { case: CaseView; infrastructure: InfrastructureView; recipient: { name: string | null; email: string }; update: 'reply' | 'status'; body: string; status: string | null; by: string | null };
  /** To the case's assignee (or every staff account): a customer escalated the case. */
  escalation_notice: { case: CaseView; recipient: { email: string }; by: { name: string | null; email: string }; reason: string; caseUrl: string; at: string };
  /** To someone who asked to sign in to the portal: a one-time link. */
  portal_sign_in: { recipient: { name: string | null; email: string }; link: string; expiresAt: string; validMinutes: number };
  /**
   * To a person a company administrator (or infrastructure administrator) just added in the
   * portal: who added them, for which company, and a one-time sign-in link that lives longer
   * than an asked-for one (an invitation is often read days later).
   */
  portal_invitation: {
    recipient: { name: string | null; email: string };
    invitedBy: { name: string | null; email: string };
    companyName: string;
    link: string;
    expiresAt: string;
    validDays: number;
    /** A company admin, or a permission on at least one infrastructure: their mail opens cases. */
    mayOpenCases: boolean;
  };
  /** To each security contact of a company: something happened they should know about. */
  security_alert: {
    recipient: { name: string | null; email: string };
    companyName: string;
    event: SecurityEvent;
    /** Whose address was claimed, who was made or unmade company admin, who was removed. */
    person: { name: string | null; email: string };
    /** Who made the change in the portal; null for sender_not_verified. */
    actor: { name: string | null; email: string } | null;
    /** The held case, for sender_not_verified only (no excerpt: its body is the unverified sender's). */
    case: { reference: string; subject: string; receivedAt: string } | null;
    /** e.g. "23 Nov 2026, 08:00 UTC" */
    at: string;
    /** PUBLIC_URL/portal/team: where the company's contacts are managed. */
    teamUrl: string;
  };
}

/** What a security alert is about. */
export type SecurityEvent = 'sender_not_verified' | 'company_admin_granted' | 'company_admin_revoked' | 'member_removed';

export type MailKind = keyof MailProps;
export const MAIL_KINDS: readonly MailKind[] = ['acknowledgement', 'held_notice', 'approval_expired_notice', 'approval_request', 'approval_reminder', 'released_notice', 'case_copy', 'decision_confirmation', 'approval_reply_undecided', 'staff_reply', 'case_update', 'escalation_notice', 'portal_sign_in', 'portal_invitation', 'security_alert'];

/**
 * Props whose values open or decide something: a portal `link` (sign-in, invitation) and an
 * approval `token` (carried by the Authorize / Ignore links and the Reply-To). Found by name
 * anywhere in a mail's props, so a new kind that carries `ApprovalLinks` or a portal `link` is
 * covered as it is. The outbox keeps them out of what it stores (see mail/sealed-secrets.ts).
 */
const SECRET_PROPS: ReadonlySet<string> = new Set(['token', 'link']);

/** The secret values in a mail's props (see SECRET_PROPS), each once. */
export function secretsOf(props: unknown): string[] {
  const found = new Set<string>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object' && !(v instanceof Date)) {
      for (const [key, value] of Object.entries(v)) {
        if (SECRET_PROPS.has(key) && typeof value === 'string' && value) found.add(value);
        else walk(value);
      }
    }
  };
  walk(props);
  return [...found];
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}
