import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

export interface ReportedFailure {
  originalMessageIds: string[];
  recipients: Array<{ address: string; status: string | null; diagnostic: string | null; action: string | null }>;
}

/** A report line means "this mail will not arrive": failed, or an unspecified action with a non-2xx/4xx status. */
function isFailure(r: ReportedFailure['recipients'][number]): boolean {
  if (r.action) return r.action.toLowerCase() === 'failed';
  return !r.status || !/^[24]/.test(r.status);
}

/**
 * Marks the outbox rows a bounce reports as undeliverable. Only mail we sent (a Message-ID on our
 * domain) and only for an address it was sent to (its To, or one of its Cc): anyone who saw one
 * of our mails knows its Message-ID, so a forged bounce can at most mark what it names, and only
 * for a real recipient. A row with Cc (a staff reply) is `bounced` once any of its recipients
 * bounced, `bounce_recipient` saying which; its To's bounce, the one that matters most (the
 * requester did not get the answer), replaces a Cc's that came first. Returns how many rows it marked.
 */
export async function recordBounce(db: DbOrTx, report: ReportedFailure, supportDomain: string): Promise<number> {
  const ours = report.originalMessageIds.filter((id) => id.toLowerCase().endsWith(`@${supportDomain}`));
  const failures = report.recipients.filter(isFailure);
  if (!ours.length || !failures.length) return 0;
  let marked = 0;
  for (const f of failures) {
    const r = await db
      .updateTable('outbox')
      .set({ status: 'bounced', bounce_recipient: f.address, bounce_status: [f.status, f.diagnostic].filter(Boolean).join(' ').slice(0, 500) || null, bounced_at: sql`now()` })
      .where('message_id', 'in', ours)
      .where((eb) =>
        eb.or([
          eb.and([eb('status', 'in', ['pending', 'sent']), eb.or([eb('to_address', '=', f.address), sql<boolean>`${f.address} = any(cc_addresses)`])]),
          eb.and([eb('status', '=', 'bounced'), eb('to_address', '=', f.address), eb('bounce_recipient', 'is distinct from', f.address)]),
        ]),
      )
      .executeTakeFirst();
    marked += Number(r.numUpdatedRows);
  }
  return marked;
}
