import { formatDate } from './dates';

describe('formatDate', () => {
  it('reads day, month, year and minute, in UTC and saying so', () => {
    expect(formatDate(new Date('2026-12-03T14:05:59Z'))).toBe('3 Dec 2026, 14:05 UTC');
    expect(formatDate(new Date('2027-01-01T00:30:00+02:00'))).toBe('31 Dec 2026, 22:30 UTC');
  });
});
