import { MailRenderer, TEMPLATES_DIR } from '../mail/templates';
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
    // A follow-up case's subject carries its old case's tag; Dutch "Antw:".
    ['Re: [CASE-000007] Printer on fire', 'Re: [CASE-000123] Printer on fire'],
    ['Antw: Re: [CASE-000007] Printer on fire', 'Re: [CASE-000123] Printer on fire'],
  ])('%j → %j', (subject, expected) => {
    expect(replySubject(subject, 'CASE-000123')).toBe(expected);
  });
});

describe('the staff reply mail says what the stored reply says', () => {
  it.each(['Antw: Printer on fire', 'Re: [CASE-000007] Printer on fire', 'Fwd: [CASE-000007] Re: Printer'])('%j', async (subject) => {
    const renderer = await MailRenderer.load(TEMPLATES_DIR);
    const mail = renderer.render('staff_reply', { case: { reference: 'CASE-000123', subject, excerpt: '', requesterEmail: 'ann@acme.test', requesterName: null, receivedAt: '2 Dec 2026' }, body: 'Hello', staff: null, status: null });
    expect(mail.subject).toBe(replySubject(subject, 'CASE-000123'));
  });
});
