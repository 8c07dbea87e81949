import nodemailer from 'nodemailer';
import type { OutboxRow } from './outbox';

/** Where mail leaves the service; an SMTP relay in production, a capture sink in tests. */
export interface MailTransport {
  send(row: OutboxRow): Promise<{ response: string }>;
  close(): void;
}

/** An SMTP answer: 5xx is permanent (retrying cannot help), anything else is worth retrying. */
export class SendError extends Error {
  constructor(message: string, readonly permanent: boolean) {
    super(message);
    this.name = 'SendError';
  }
}

// Replies to a person's message are auto-replied; mail we start (approval requests, reminders)
// is auto-generated (RFC 3834). Either way, well-behaved responders will not answer them.
const AUTO_GENERATED = new Set(['approval_request', 'approval_reminder', 'case_copy', 'portal_sign_in', 'portal_invitation', 'security_alert']);

export function createSmtpTransport(smtpUrl: string, supportAddress: string, fromName = 'Support'): MailTransport {
  // A pooled connection: approval rounds send several mails at once.
  const url = new URL(smtpUrl);
  url.searchParams.set('pool', 'true');
  const transporter = nodemailer.createTransport(url.toString());
  return {
    async send(row) {
      try {
        const info = await transporter.sendMail({
          from: { name: fromName, address: supportAddress },
          to: row.to_address,
          subject: row.subject,
          text: row.text,
          html: row.html,
          messageId: `<${row.message_id}>`,
          inReplyTo: row.in_reply_to ? `<${row.in_reply_to}>` : undefined,
          references: row.references ?? undefined,
          replyTo: row.reply_to ?? undefined,
          headers: {
            'Auto-Submitted': AUTO_GENERATED.has(row.kind) ? 'auto-generated' : 'auto-replied',
            'X-Auto-Response-Suppress': 'All',
          },
        });
        return { response: String(info.response ?? 'accepted') };
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        const message = err instanceof Error ? err.message : String(err);
        throw new SendError(message, code !== undefined && code >= 500 && code < 600);
      }
    },
    close: () => transporter.close(),
  };
}
