/**
 * How a moment reads in mail and on pages: day, month, year and time to the minute, in UTC and
 * saying so, e.g. "3 Dec 2026, 14:05 UTC". Mail is read wherever its recipient is, so it names
 * its zone rather than guess one.
 */
const DATE_FORMAT = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', hour12: false });

export function formatDate(d: Date): string {
  return `${DATE_FORMAT.format(d)} UTC`;
}
