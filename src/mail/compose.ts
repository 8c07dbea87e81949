/**
 * The message of an outbox row, headers and all, built before the send starts (see transport.ts:
 * the commit point only writes what this built).
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type { MailAttachment } from './attachments';
import type { OutboxRow } from './outbox';

// Replies to a person's message are auto-replied; mail we start (approval requests, reminders,
// copies, notices to staff) is auto-generated (RFC 3834). Either way, well-behaved responders
// will not answer them.
const AUTO_GENERATED = new Set(['approval_request', 'approval_reminder', 'case_copy', 'case_update', 'escalation_notice', 'portal_sign_in', 'portal_invitation', 'security_alert']);
/**
 * Mail a person wrote (a support engineer's reply): no Auto-Submitted and no
 * X-Auto-Response-Suppress, so the customer's mail system treats it as any person's mail, and
 * their out-of-office may answer it as it would answer a person.
 */
const PERSON_WRITTEN = new Set(['staff_reply']);

function automaticHeaders(kind: string): Record<string, string> {
  if (PERSON_WRITTEN.has(kind)) return {};
  return { 'Auto-Submitted': AUTO_GENERATED.has(kind) ? 'auto-generated' : 'auto-replied', 'X-Auto-Response-Suppress': 'All' };
}

/** An outbox row as it is sent: its links revealed, the attachments of its `message_ref` loaded. */
export type OutgoingMail = OutboxRow & { attachments: readonly MailAttachment[] };

/**
 * The message of an outbox row, built as nodemailer's sendMail builds one: its Cc in the header
 * and the envelope (MailComposer's envelope takes To and Cc), its attachments in it.
 */
export async function compose(row: OutgoingMail, supportAddress: string, fromName: string) {
  const node = new MailComposer({
    from: { name: fromName, address: supportAddress },
    to: row.to_address,
    cc: row.cc_addresses?.length ? row.cc_addresses : undefined,
    subject: row.subject,
    text: row.text,
    html: row.html,
    messageId: `<${row.message_id}>`,
    inReplyTo: row.in_reply_to ? `<${row.in_reply_to}>` : undefined,
    references: row.references ?? undefined,
    replyTo: row.reply_to ?? undefined,
    headers: automaticHeaders(row.kind),
    attachments: row.attachments.map((a) => ({ filename: a.filename ?? undefined, contentType: a.contentType, content: a.content, contentDisposition: 'attachment' as const })),
  }).compile();
  return { envelope: node.getEnvelope(), message: await node.build() };
}
