import { replySubject } from './work';

describe('replySubject', () => {
  it.each([
    ['Printer on fire', 'Re: [CASE-000123] Printer on fire'],
    ['Re: Printer on fire', 'Re: [CASE-000123] Printer on fire'],
    ['RE: AW: Fwd: Printer on fire', 'Re: [CASE-000123] Printer on fire'],
    ['Re[2]: Printer on fire', 'Re: [CASE-000123] Printer on fire'],
    ['[CASE-000123] Re: Printer on fire', 'Re: [CASE-000123] Printer on fire'],
    ['Re: [CASE-000123] Printer on fire', 'Re: [CASE-000123] Printer on fire'],
    ['Reboot loop', 'Re: [CASE-000123] Reboot loop'],
    ['', 'Re: [CASE-000123]'],
  ])('%j → %j', (subject, expected) => {
    expect(replySubject(subject, 'CASE-000123')).toBe(expected);
  });
});
