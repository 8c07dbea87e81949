import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Handlebars from 'handlebars';
import type { CaseView, InfrastructureView, MailProps } from './kinds';
import { MailRenderer, TEMPLATES_DIR, oneLineProps } from './templates';

/** The casework kinds: a staff reply (a person's mail), its copy to CC-in-all-cases members, an escalation to staff. */

const escapeHtml = (s: string): string => Handlebars.Utils.escapeExpression(s);
const HOSTILE = '<script>alert(1)</script>';

const theCase = (overrides: Partial<CaseView> = {}): CaseView => ({
  reference: 'CASE-000123',
  subject: 'Backups fail since Monday',
  excerpt: 'Hello,\n\nsince Monday the nightly backup fails.',
  requesterEmail: 'dave@acme.test',
  requesterName: 'Dave Jones',
  receivedAt: '23 Nov 2026, 08:00 UTC',
  ...overrides,
});
const infrastructure: InfrastructureView = { key: 'acme-prod', name: 'Acme Production', companyName: 'Acme Ltd' };
const BODY = 'Hi Dave,\n\nthe quota of db-02 was full; I raised it to 200 GB.\nTonight\'s backup should run again.\n\nBest regards';

const reply = (overrides: Partial<MailProps['staff_reply']> = {}): MailProps['staff_reply'] => ({
  case: theCase(),
  body: BODY,
  staff: { name: 'Sam Engineer', email: 'sam@support.example.com' },
  status: null,
  ...overrides,
});
const update = (overrides: Partial<MailProps['case_update']> = {}): MailProps['case_update'] => ({
  case: theCase(),
  infrastructure,
  recipient: { name: 'Bob Builder', email: 'bob@acme.test' },
  update: 'reply',
  body: BODY,
  status: null,
  by: 'Sam Engineer',
  ...overrides,
});
const escalation = (overrides: Partial<MailProps['escalation_notice']> = {}): MailProps['escalation_notice'] => ({
  case: theCase(),
  recipient: { email: 'sam@support.example.com' },
  by: { name: 'Dave Jones', email: 'dave@acme.test' },
  reason: 'Production is down.\nWe need someone now.',
  caseUrl: 'https://support.example.com/dashboard/cases/CASE-000123',
  at: '24 Nov 2026, 09:15 UTC',
  ...overrides,
});

let renderer: MailRenderer;
beforeAll(async () => {
  renderer = await MailRenderer.load(TEMPLATES_DIR);
});

describe('staff_reply', () => {
  it('is what the engineer wrote, lines kept and not quoted, signed, with the short footer', () => {
    const mail = renderer.render('staff_reply', reply());
    expect(mail.subject).toBe('Re: [CASE-000123] Backups fail since Monday');
    expect(mail.text).toBe(
      "Hi Dave,\n\nthe quota of db-02 was full; I raised it to 200 GB.\nTonight's backup should run again.\n\nBest regards\n\nSam Engineer\nSupport\n\n--\nReply to this email to add to the case (CASE-000123).\n\nSupport\n",
    );
    expect(mail.text).not.toMatch(/^>/m);
    expect(mail.text).not.toMatch(/Hello|automatic/);
    expect(mail.html).toContain('<p style="margin:0 0 16px 0;">Hi Dave,</p>');
    expect(mail.html).toContain('the quota of db-02 was full; I raised it to 200 GB.<br>\nTonight&#x27;s backup should run again.</p>');
    expect(mail.html).not.toMatch(/<blockquote|border-left/);
    expect(mail.html).toContain('Reply to this email to add to the case (CASE-000123).');
  });

  it.each([
    ['Re: Backups fail', 'Re: [CASE-000123] Backups fail'],
    ['RE: AW: Fwd: Backups fail', 'Re: [CASE-000123] Backups fail'],
    ['re[2]:  FW:Backups fail', 'Re: [CASE-000123] Backups fail'],
    ['Regarding backups', 'Re: [CASE-000123] Regarding backups'],
    ['Backups fail: Re: db-02', 'Re: [CASE-000123] Backups fail: Re: db-02'],
  ])('subject %j becomes %j, its leading reply markers not repeated', (subject, expected) => {
    expect(renderer.render('staff_reply', reply({ case: theCase({ subject }) })).subject).toBe(expected);
  });

  it('says the new status in one line when the reply changed it', () => {
    const solved = renderer.render('staff_reply', reply({ status: 'solved: reply if it is not, and it opens again' }));
    expect(solved.text).toContain('\nThis case is now solved: reply if it is not, and it opens again.\n');
    expect(solved.html).toContain('This case is now <strong>solved: reply if it is not, and it opens again</strong>.');
    expect(renderer.render('staff_reply', reply({ status: 'waiting for your answer' })).text).toContain('This case is now waiting for your answer.');
    expect(renderer.render('staff_reply', reply()).text).not.toContain('This case is now');
  });

  it('signs with the address when the engineer has no name, and as the support team for an API reply', () => {
    expect(renderer.render('staff_reply', reply({ staff: { name: null, email: 'sam@support.example.com' } })).text).toContain('\nsam@support.example.com\nSupport\n');
    const api = renderer.render('staff_reply', reply({ staff: null }));
    expect(api.text).toMatch(/\n\nSupport\n/);
    expect(api.text).not.toMatch(/\bapi\b/);
    expect(api.html).toContain('<p style="margin:0 0 16px 0;">Support</p>');
  });

  it('escapes markup and CR/LF of the body in HTML, keeping its lines as line breaks, and keeps it plain in text', () => {
    const body = `First ${HOSTILE}\r\nsecond & "third"\rfourth\u2028fifth\r\n\r\n<b>new paragraph</b>`;
    const mail = renderer.render('staff_reply', reply({ body, staff: { name: `Eve ${HOSTILE}`, email: 'eve@support.example.com' }, status: HOSTILE }));
    expect(mail.html).not.toMatch(/<script|<b>|\r/);
    expect(mail.html).toContain(`<p style="margin:0 0 16px 0;">First ${escapeHtml(HOSTILE)}<br>\nsecond &amp; &quot;third&quot;<br>\nfourth<br>\nfifth</p>\n<p style="margin:0 0 16px 0;">${escapeHtml('<b>new paragraph</b>')}</p>`);
    expect(mail.html).toContain(`Eve ${escapeHtml(HOSTILE)}`);
    expect(mail.text).toContain(`First ${HOSTILE}\nsecond & "third"\nfourth\nfifth\n\n<b>new paragraph</b>\n`);
    expect(mail.text).not.toMatch(/\r|&lt;/);
  });

  it('folds every other prop into one line: a subject, a name or a status cannot add lines', () => {
    const mail = renderer.render('staff_reply', reply({ case: theCase({ subject: 'Re: one\r\nBcc: x@evil.test' }), staff: { name: 'Sam\nX-Evil: 1', email: 's@x.test' }, status: 'solved\n\nfake' }));
    expect(mail.subject).toBe('Re: [CASE-000123] one Bcc: x@evil.test');
    expect(mail.text).toContain('\nSam X-Evil: 1\n');
    expect(mail.text).toContain('This case is now solved  fake.');
  });

  it('fails on a missing prop instead of rendering a blank', () => {
    const { body: _body, ...partial } = reply();
    expect(() => renderer.render('staff_reply', partial as MailProps['staff_reply'])).toThrow(/rendering mail staff_reply: .*(missing prop|"body")/);
  });
});

describe('case_update', () => {
  it('copies a staff reply to a CC-in-all-cases member, the body quoted', () => {
    const mail = renderer.render('case_update', update({ status: 'waiting for the customer' }));
    expect(mail.subject).toBe('[CASE-000123] Support replied for Acme Production: Backups fail since Monday');
    expect(mail.text).toMatch(/^Hello Bob Builder,/);
    expect(mail.text).toContain('Sam Engineer of support replied to case CASE-000123 for Acme Production (Acme Ltd):\n\n> Hi Dave,\n>\n> the quota of db-02 was full; I raised it to 200 GB.\n');
    expect(mail.text).toContain('The case is now waiting for the customer.');
    expect(mail.text).toContain('"CC in all cases" is set for you');
    expect(mail.html).toContain('border-left:3px solid');
  });

  it('tells of a status change in words, without a body', () => {
    const mail = renderer.render('case_update', update({ update: 'status', body: '', status: 'solved' }));
    expect(mail.subject).toBe('[CASE-000123] Now solved for Acme Production: Backups fail since Monday');
    expect(mail.text).toContain('Sam Engineer of support changed the status of case CASE-000123 for Acme Production (Acme Ltd): it is now solved.');
    expect(mail.text).not.toMatch(/^>/m);
    expect(mail.html).toContain('it is now <strong>solved</strong>.');
  });

  it('escapes the quoted body in HTML', () => {
    const mail = renderer.render('case_update', update({ body: `x ${HOSTILE}\r\ny` }));
    expect(mail.html).not.toContain('<script');
    expect(mail.html).toContain(escapeHtml(`x ${HOSTILE}`));
    expect(mail.text).toContain(`> x ${HOSTILE}\n> y\n`);
  });
});

describe('escalation_notice', () => {
  it('tells staff who escalated, when, in their quoted words, with the dashboard link', () => {
    const mail = renderer.render('escalation_notice', escalation());
    expect(mail.subject).toBe('[CASE-000123] Escalated by dave@acme.test: Backups fail since Monday');
    expect(mail.text).toContain('Dave Jones (dave@acme.test) escalated case CASE-000123 (24 Nov 2026, 09:15 UTC).');
    expect(mail.text).toContain('Their reason:\n\n> Production is down.\n> We need someone now.\n');
    expect(mail.text).toContain('Open the case: https://support.example.com/dashboard/cases/CASE-000123');
    expect(mail.html).toContain('href="https://support.example.com/dashboard/cases/CASE-000123"');
  });

  it('quotes a reason with hostile lines as the customer\'s, escaped in HTML', () => {
    const mail = renderer.render('escalation_notice', escalation({ reason: `Now!\r\nSubject: fake\n${HOSTILE}` }));
    expect(mail.text).toContain(`> Now!\n> Subject: fake\n> ${HOSTILE}\n`);
    expect(mail.html).not.toContain('<script');
    expect(mail.html).toContain(escapeHtml(HOSTILE));
    expect(renderer.render('escalation_notice', escalation({ reason: '' })).text).toContain('> (none given)');
  });
});

describe('lines kept', () => {
  it('keeps the lines of a staff body and an escalation reason, folds the rest', () => {
    expect(oneLineProps({ body: 'a\nb', reason: 'c\r\nd', by: { name: 'e\nf' } })).toEqual({ body: 'a\nb', reason: 'c\r\nd', by: { name: 'e f' } });
  });

  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'mail-templates-'));
    cpSync(TEMPLATES_DIR, tmp, { recursive: true });
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it.each([
    ['staff_reply/text.hbs', '{{lines case.subject}}\n', /\{\{lines case\.subject\}\}: only body may be shown with its lines/],
    ['staff_reply/html.hbs', '{{paragraphs staff.name}}\n', /only body may be shown/],
    ['staff_reply/html.hbs', '<p>{{lines body}}</p>\n', /\{\{lines\}\} is for text templates only/],
    ['staff_reply/text.hbs', '{{paragraphs body}}\n', /\{\{paragraphs\}\} is for html templates only/],
    ['staff_reply/text.hbs', '{{body}}\n', /\{\{body\}\} keeps its lines: show it with \{\{lines body\}\}/],
    ['escalation_notice/text.hbs', 'Reason: {{reason}}\n', /\{\{reason\}\} keeps its lines: show it with \{\{quote reason\}\}/],
    ['case_copy/text.hbs', '{{case.excerpt}}\n', /\{\{case\.excerpt\}\} keeps its lines/],
  ])('refuses %s printing a kept-lines prop the wrong way (%j)', async (file, source, error) => {
    writeFileSync(path.join(tmp, file), source);
    await expect(MailRenderer.load(tmp)).rejects.toThrow(error);
  });
});
