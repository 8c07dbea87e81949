import Handlebars from 'handlebars';
import { displayTimeZone, formatInstant } from '../../dates';
import type { CaseStatus, HoldReason, MessageHoldReason } from '../../db/schema';

/** What staff read for each hold reason. */
export const HOLD_WORDS: Record<HoldReason, string> = {
  unknown_sender: 'unknown sender',
  not_permitted: 'not permitted on this infrastructure',
  unrouted: 'unrouted (no infrastructure)',
  rate_limited: 'rate limited (possible loop)',
  sender_not_verified: 'sender not verified (DMARC)',
  too_large: 'too large',
};

/** What staff read on a message held from its case. */
export const MESSAGE_HOLD_WORDS: Record<MessageHoldReason, string> = {
  reply_not_verified: 'held: the sender was not verified (DMARC); nobody in Cc was added and the portal does not show it',
};

export const STATUS_WORDS: Record<CaseStatus, string> = { new: 'new (being matched)', open: 'open', pending: 'pending (waiting for the customer)', solved: 'solved', closed: 'closed', suspended: 'held', ignored: 'ignored' };

const instant = (d: Date | string): Date => (typeof d === 'string' ? new Date(d) : d);

/** An instant inside a sentence: DISPLAY_TIME_ZONE (else UTC), named, with the year and seconds. */
export function whenText(d: Date | string): string {
  return formatInstant(instant(d), displayTimeZone(), { seconds: true });
}

/**
 * An instant on a page: `<time datetime="…">` around `whenText`, which /static/times.js rewrites
 * in the viewer's zone when DISPLAY_TIME_ZONE is unset. Our own markup, so handlebars prints it
 * as it is; both parts come from a Date, nothing anyone typed.
 */
export function when(d: Date | string | null): Handlebars.SafeString | string {
  if (d === null) return '—';
  const at = instant(d);
  const escape = Handlebars.Utils.escapeExpression;
  return new Handlebars.SafeString(`<time datetime="${escape(at.toISOString())}">${escape(whenText(at))}</time>`);
}

/** A duration the way people say it: "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function ago(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(s / 3600);
  if (h < 48) return `${h} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
