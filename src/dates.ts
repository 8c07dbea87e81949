/**
 * How pages and mails write an instant: day, month, year and time, with the zone named. The zone
 * is DISPLAY_TIME_ZONE when the operator set one, else UTC (pages then rewrite it in the viewer's
 * own zone in the browser). Set once at start (`useDisplayTimeZone`), read by every formatter, so
 * a mail written by a worker and a page written by the web process say the same.
 */

/** True when `zone` is an IANA time zone name this Node knows ("Europe/Berlin", "UTC"). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timeZone: string, seconds: boolean): Intl.DateTimeFormat {
  const key = `${timeZone} ${seconds}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}), timeZone, timeZoneName: 'short', hourCycle: 'h23' });
    formats.set(key, format);
  }
  return format;
}

/** "3 Dec 2026, 11:39 UTC", "3 Dec 2026, 12:39:05 CET": `timeZone` null is UTC. */
export function formatInstant(d: Date, timeZone: string | null, { seconds = false }: { seconds?: boolean } = {}): string {
  return formatFor(timeZone ?? 'UTC', seconds).format(d);
}

let displayZone: string | null = null;

/** DISPLAY_TIME_ZONE, once at start (null: UTC on the server, the viewer's zone in the browser). */
export function useDisplayTimeZone(zone: string | null): void {
  if (zone !== null && !isTimeZone(zone)) throw new Error(`not a time zone: ${zone}`);
  displayZone = zone;
}

export function displayTimeZone(): string | null {
  return displayZone;
}

/** An instant as mails say it: DISPLAY_TIME_ZONE (else UTC), named, with the year. */
export function formatDate(d: Date): string {
  return formatInstant(d, displayTimeZone());
}
