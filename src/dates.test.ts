import { displayTimeZone, formatDate, formatInstant, isTimeZone, useDisplayTimeZone } from './dates';

const WINTER = new Date('2026-12-03T11:39:05Z');
const SUMMER = new Date('2026-07-01T23:30:00Z');

describe('formatInstant', () => {
  it('writes UTC, named, with the year, when no zone is set', () => {
    expect(formatInstant(WINTER, null)).toBe('3 Dec 2026, 11:39 UTC');
    expect(formatInstant(WINTER, null, { seconds: true })).toBe('3 Dec 2026, 11:39:05 UTC');
  });

  it('writes the given zone, its summer and winter time, and the day it is there', () => {
    expect(formatInstant(WINTER, 'Europe/Berlin')).toBe('3 Dec 2026, 12:39 CET');
    expect(formatInstant(SUMMER, 'Europe/Berlin')).toBe('2 Jul 2026, 01:30 CEST');
    expect(formatInstant(SUMMER, 'America/New_York', { seconds: true })).toBe('1 Jul 2026, 19:30:00 GMT-4');
  });

  it('writes midnight as 00, not 24', () => {
    expect(formatInstant(new Date('2026-01-01T00:05:00Z'), null)).toBe('1 Jan 2026, 00:05 UTC');
  });
});

describe('the display zone', () => {
  afterEach(() => useDisplayTimeZone(null));

  it('knows IANA names and refuses others', () => {
    expect(['UTC', 'Europe/Berlin', 'Asia/Kolkata'].map(isTimeZone)).toEqual([true, true, true]);
    expect(['Europe/Atlantis', 'CEST+1', 'not a zone'].map(isTimeZone)).toEqual([false, false, false]);
    expect(() => useDisplayTimeZone('Mars/Olympus')).toThrow(/not a time zone/);
  });

  it('is null (UTC) until set', () => {
    expect(displayTimeZone()).toBeNull();
    useDisplayTimeZone('Asia/Tokyo');
    expect(displayTimeZone()).toBe('Asia/Tokyo');
  });
});

describe('formatDate', () => {
  afterEach(() => useDisplayTimeZone(null));

  it('reads day, month, year and minute, in UTC and saying so when no zone is set', () => {
    expect(formatDate(new Date('2026-12-03T14:05:59Z'))).toBe('3 Dec 2026, 14:05 UTC');
    expect(formatDate(new Date('2027-01-01T00:30:00+02:00'))).toBe('31 Dec 2026, 22:30 UTC');
  });

  it('writes DISPLAY_TIME_ZONE once it is set', () => {
    useDisplayTimeZone('Europe/Berlin');
    expect(formatDate(new Date('2026-12-03T14:05:59Z'))).toBe('3 Dec 2026, 15:05 CET');
  });
});
