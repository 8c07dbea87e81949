/**
 * The path a stored message takes through intake, decided here and nowhere else, for one message
 * or a whole fetch: automatic mail is kept, unreadable mail quarantined, an approval reply handed
 * to its own queue, a reply added to the case it continues, anything else a new case. Pure: the
 * callers (filing.ts) gather the facts it asks for and store what it decides.
 */
import { tokenFromReplyAddress } from '../approvals/tokens';
import type { IntakeFindings } from '../cases/repository';
import { replyHold, type ThreadMatch } from '../cases/threading';
import type { MessageHoldReason } from '../db/schema';
import type { Classification, MailClass } from './classify';
import type { ParsedMessage } from './parse';

/** A person's message, parsed, with what intake learned of it besides its content. */
export interface ReadMessage {
  /** Over MAX_MESSAGE_BYTES, from its headers alone (`findings.intakeHold` says so). */
  parsed: ParsedMessage;
  /** Its Cc outside the support domain: the people a new case (or a trusted reply) adds. */
  participants: string[];
  findings: IntakeFindings;
}

/** What is known of a message so far; each fact is gathered only once the rules ask for it. */
export interface MessageFacts {
  /** What the raw headers say it is (classify.ts), read before parsing. */
  classification: Classification;
  /** The message as parsed, or why it could not be. */
  read?: ReadMessage | { unreadable: string };
  /** The case it continues (cases/threading.findThread), null for none. */
  thread?: ThreadMatch | null;
}

export type MessagePath =
  /** Bounces, auto-replies, list mail, our own mail: kept, never a case, never answered. */
  | { path: 'automatic'; kind: Exclude<MailClass, 'person'>; reason: string }
  | { path: 'quarantine'; reason: string }
  | { path: 'approval_reply' }
  /** With `hold`, kept on its case for staff but granting nothing (replyHold). */
  | { path: 'reply'; thread: ThreadMatch; hold: MessageHoldReason | null }
  | { path: 'new_case' };

/** The path, or the fact the rules need before they can tell it. */
export type PathStep = MessagePath | { needs: 'parse' | 'thread' };

/**
 * The rules in the order they apply. Automatic mail is told from its raw headers, so even a
 * bounce the parser cannot read is kept; an approval reply goes by its address whatever it
 * answers; only then does the thread decide between a reply and a new case. Whether a reply to
 * a long-closed case starts a follow-up is the case's rule (cases/lifecycle.ts), applied with the
 * case locked when the reply is stored.
 */
export function messagePath(facts: MessageFacts, supportAddress: string): PathStep {
  const { classification, read, thread } = facts;
  if (classification.class !== 'person') return { path: 'automatic', kind: classification.class, reason: classification.reason };
  if (!read) return { needs: 'parse' };
  if ('unreadable' in read) return { path: 'quarantine', reason: read.unreadable };
  if (read.parsed.recipients.some((r) => tokenFromReplyAddress(r, supportAddress) !== null)) return { path: 'approval_reply' };
  if (thread === undefined) return { needs: 'thread' };
  if (thread) return { path: 'reply', thread, hold: replyHold(read.findings.senderVerified ?? null) };
  return { path: 'new_case' };
}
