import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Handlebars from 'handlebars';
import { MAIL_KINDS, type CaseView, type InfrastructureView, type MailKind, type MailProps } from './kinds';
import { MailRenderer, TEMPLATES_DIR, findTemplatesDir, oneLineProps } from './templates';

const escapeHtml = (s: string): string => Handlebars.Utils.escapeExpression(s);

const REPO_ROOT = path.resolve(__dirname, '../..');
const HOSTILE = '<script>alert(1)</script>';
const ADMIN_EMAIL = 'alice.admin@acme.test';
const ADMIN_NAME = 'Alice Admin';

function caseView(overrides: Partial<CaseView> = {}): CaseView {
  return {
    reference: 'CASE-000123',
    subject: 'Backups fail since Monday',
    excerpt: 'Hello,\n\nsince Monday the nightly backup of db-02 fails with "disk quota exceeded".\nCan you have a look?',
    requesterEmail: 'dave@acme.test',
    requesterName: 'Dave Jones',
    receivedAt: '23 Nov 2026, 08:00 UTC',
    ...overrides,
  };
}

const infrastructure: InfrastructureView = { key: 'acme-prod', name: 'Acme Production', companyName: 'Acme Ltd' };

const links = {
  token: 'tok_abc123',
  page: 'https://support.example.com/approvals/tok_abc123',
  authorize: 'https://support.example.com/approvals/tok_abc123?choice=authorize&src=mail',
  ignore: 'https://support.example.com/approvals/tok_abc123?choice=ignore&src=mail',
  replyAddress: 'approvals+tok_abc123@support.example.com',
  expiresAt: '30 Nov 2026, 08:00 UTC',
};

/** What an engineer wrote: a greeting, paragraphs, a list, lines to keep. */
const STAFF_BODY = 'Hi Dave,\n\nthe quota of db-02 was full; I raised it to 200 GB.\nTonight\'s backup should run again:\n- check the log at 02:00\n- tell us if it fails\n\nBest regards';

function sampleProps(c: CaseView = caseView()): { [K in MailKind]: MailProps[K] } {
  return {
    acknowledgement: { case: c, infrastructure },
    held_notice: { case: c, awaitingApproval: true, tooLarge: null },
    approval_expired_notice: { case: c, heldCases: 2, validDays: 7 },
    approval_request: { case: c, infrastructure, approver: { name: ADMIN_NAME, email: ADMIN_EMAIL }, links, pendingCases: 1 },
    approval_reminder: { case: c, infrastructure, approver: { name: ADMIN_NAME, email: ADMIN_EMAIL }, links, pendingCases: 3 },
    released_notice: { case: c, infrastructure, authorized: true },
    case_copy: { case: c, infrastructure, recipient: { name: 'Bob Builder', email: 'bob@acme.test' } },
    decision_confirmation: { case: c, infrastructure, decision: 'authorize', earlier: null, releasedCases: 2 },
    approval_reply_undecided: { case: c, infrastructure, read: 'OK to ignore - he left', because: 'it says both authorize and ignore', links },
    staff_reply: { case: c, body: STAFF_BODY, staff: { name: 'Sam Engineer', email: 'sam@support.example.com' }, status: null },
    case_update: { case: c, infrastructure, recipient: { name: 'Bob Builder', email: 'bob@acme.test' }, update: 'reply', body: STAFF_BODY, status: null, by: 'Sam Engineer' },
    escalation_notice: { case: c, recipient: { email: 'sam@support.example.com' }, by: { name: 'Dave Jones', email: 'dave@acme.test' }, reason: 'Production is down.\nWe need someone now.', caseUrl: 'https://support.example.com/dashboard/cases/CASE-000123', at: '24 Nov 2026, 09:15 UTC' },
    portal_sign_in: { recipient: { name: 'Dave Jones', email: 'dave@acme.test' }, link: 'https://support.example.com/portal/login/abc', expiresAt: '23 Nov 2026, 12:15 UTC', validMinutes: 15 },
    portal_invitation: {
      recipient: { name: 'Nina New', email: 'nina@acme.test' },
      invitedBy: { name: ADMIN_NAME, email: ADMIN_EMAIL },
      companyName: 'Acme Ltd',
      link: 'https://support.example.com/portal/login/inv',
      expiresAt: '30 Nov 2026, 08:00 UTC',
      validDays: 7,
      mayOpenCases: true,
    },
    security_alert: {
      recipient: { name: 'Sam Security', email: 'sam@acme.test' },
      companyName: 'Acme Ltd',
      event: 'sender_not_verified',
      person: { name: 'Dave Jones', email: 'dave@acme.test' },
      actor: null,
      case: { reference: c.reference, subject: c.subject, receivedAt: c.receivedAt },
      at: '23 Nov 2026, 08:00 UTC',
      teamUrl: 'https://support.example.com/portal/team',
    },
  };
}

let renderer: MailRenderer;
beforeAll(async () => {
  renderer = await MailRenderer.load(TEMPLATES_DIR);
});

describe('templates directory', () => {
  it('is found from the sources and from the compiled output', () => {
    expect(TEMPLATES_DIR).toBe(path.join(REPO_ROOT, 'templates'));
    expect(findTemplatesDir(path.join(REPO_ROOT, 'dist/src/mail'))).toBe(path.join(REPO_ROOT, 'templates'));
  });
});

/** Mail about a case carries its reference; the portal's sign-in mail is about a person only. */
const PERSON_MAIL: readonly MailKind[] = ['portal_sign_in', 'portal_invitation', 'security_alert'];
const CASE_MAIL = MAIL_KINDS.filter((k) => !PERSON_MAIL.includes(k));

describe('every kind', () => {
  it.each(CASE_MAIL.map((k) => [k]))('%s renders subject, text and a full HTML document', (kind) => {
    const props = sampleProps()[kind];
    const mail = renderer.render(kind, props);
    // A staff reply is a person's answer: "Re: " before the reference, as their mail client would write.
    expect(mail.subject).toMatch(kind === 'staff_reply' ? /^Re: \[CASE-000123\] \S/ : /^\[CASE-000123\] \S/);
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.subject).not.toMatch(/\s{2,}/);
    expect(mail.text).toContain('CASE-000123');
    expect(mail.text.endsWith('\n')).toBe(true);
    expect(mail.text).not.toMatch(/\n{3,}/);
    expect(mail.text).not.toMatch(/&(lt|gt|amp|quot|#x27|#x3D);/);
    expect(mail.html).toMatch(/^<!DOCTYPE html>/);
    expect(mail.html).toContain('</html>');
    expect(mail.html).toContain('CASE-000123');
    expect(mail.html).toContain(`<title>${escapeHtml(mail.subject)}</title>`);
    // No external resources: inline styles only.
    expect(mail.html).not.toMatch(/<(img|script|link|style)\b/i);
  });

  it.each(CASE_MAIL.map((k) => [k]))('%s escapes hostile values in HTML and keeps them plain in text', (kind) => {
    const hostile = caseView({ subject: `Help ${HOSTILE}`, excerpt: `Look: ${HOSTILE}\n"quoted" & 'single'`, requesterName: `Eve ${HOSTILE}` });
    const props = sampleProps(hostile)[kind];
    const mail = renderer.render(kind, props);
    expect(mail.html).not.toContain('<script');
    expect(mail.html).not.toContain('alert(1)</');
    expect(mail.text).not.toContain('&lt;');
    if (mail.subject.includes('Help')) expect(mail.subject).toContain(HOSTILE);
    // Every kind shows the requester's name in the case summary or greeting; a staff reply, what
    // the engineer wrote, and the case's subject in its subject line (and the HTML's title).
    expect(mail.html).toContain(escapeHtml(HOSTILE));
    expect(kind === 'staff_reply' ? mail.subject : mail.text).toContain(HOSTILE);
  });

  it('fails on a missing prop instead of rendering a blank', () => {
    const { subject: _subject, ...partial } = caseView();
    expect(() => renderer.render('acknowledgement', { case: partial as CaseView, infrastructure })).toThrow(/acknowledgement.*subject/);
  });
});

describe('portal_sign_in', () => {
  it('carries the one-time link and its life, escapes the name, and names no case', () => {
    const mail = renderer.render('portal_sign_in', { ...sampleProps().portal_sign_in, recipient: { name: `Eve ${HOSTILE}`, email: 'eve@acme.test' } });
    expect(mail.subject).toBe('Your sign-in link for the support portal');
    expect(mail.text).toContain('https://support.example.com/portal/login/abc');
    expect(mail.text).toContain('works once, for 15 minutes');
    expect(mail.html).toContain('href="https://support.example.com/portal/login/abc"');
    expect(mail.html).toContain(escapeHtml(HOSTILE));
    expect(mail.html).not.toContain('<script');
    expect(mail.text).toContain(HOSTILE);
    expect(mail.html).toMatch(/^<!DOCTYPE html>/);
  });
});

describe('portal_invitation', () => {
  const props = (): MailProps['portal_invitation'] => sampleProps().portal_invitation;

  it('says who added them to which company, carries the sign-in link and its life, and names no case', () => {
    const mail = renderer.render('portal_invitation', props());
    expect(mail.subject).toBe('Alice Admin (alice.admin@acme.test) added you to Acme Ltd on the support portal');
    expect(mail.text).toMatch(/^Hello Nina New,/);
    expect(mail.text).toContain('Alice Admin (alice.admin@acme.test) added you (nina@acme.test) to the contacts of Acme Ltd');
    expect(mail.text).toContain('\nhttps://support.example.com/portal/login/inv\n');
    expect(mail.text).toContain('works once, for 7 days (until 30 Nov 2026, 08:00 UTC)');
    expect(mail.html).toContain('href="https://support.example.com/portal/login/inv"');
    expect(mail.html).toMatch(/^<!DOCTYPE html>/);
    expect(mail.html).toContain(`<title>${escapeHtml(mail.subject)}</title>`);
    for (const body of [mail.subject, mail.text, mail.html]) expect(body).not.toContain('CASE-');
  });

  it('escapes hostile names and company names in HTML and keeps them plain in text', () => {
    const mail = renderer.render('portal_invitation', { ...props(), invitedBy: { name: `Eve ${HOSTILE}`, email: 'eve@acme.test' }, companyName: `Acme ${HOSTILE}` });
    expect(mail.html).not.toContain('<script');
    expect(mail.html).toContain(escapeHtml(HOSTILE));
    expect(mail.text).toContain(HOSTILE);
    expect(mail.text).not.toContain('&lt;');
    expect(mail.subject).not.toMatch(/[\r\n]/);
  });

  it('greets without a name', () => {
    expect(renderer.render('portal_invitation', { ...props(), recipient: { name: null, email: 'nina@acme.test' } }).text).toMatch(/^Hello,/);
  });

  it('promises cases only to someone who may open them', () => {
    expect(renderer.render('portal_invitation', props()).text).toContain('You may open support cases by writing to us from this address.');
    const none = renderer.render('portal_invitation', { ...props(), mayOpenCases: false });
    for (const body of [none.text, none.html]) {
      expect(body).not.toContain('You may open support cases');
      expect(body).toContain('waits for their approval');
    }
  });
});

describe('security_alert', () => {
  const props = (): MailProps['security_alert'] => sampleProps().security_alert;
  const teamChange = (event: 'company_admin_granted' | 'company_admin_revoked' | 'member_removed'): MailProps['security_alert'] => ({
    ...props(),
    event,
    person: { name: 'Dave Jones', email: 'dave@acme.test' },
    actor: { name: ADMIN_NAME, email: ADMIN_EMAIL },
    case: null,
  });

  it('tells of unverified mail in a contact\'s name, with the case but not its body', () => {
    const mail = renderer.render('security_alert', props());
    expect(mail.subject).toBe('Security alert for Acme Ltd: unverified mail in the name of dave@acme.test');
    expect(mail.text).toMatch(/^Hello Sam Security,/);
    expect(mail.text).toContain('security contact of Acme Ltd');
    expect(mail.text).toContain('claims to come from Dave Jones (dave@acme.test)');
    expect(mail.text).toContain('Reference: CASE-000123');
    expect(mail.text).toContain('Subject:   Backups fail since Monday');
    expect(mail.text).toContain('https://support.example.com/portal/team');
    expect(mail.html).toContain('href="https://support.example.com/portal/team"');
    expect(mail.html).toContain('CASE-000123');
    for (const body of [mail.text, mail.html]) {
      expect(body).not.toContain('nightly backup');
      expect(body).not.toMatch(/made .* a company admin|removed/);
    }
  });

  it.each([
    ['company_admin_granted', 'Security alert for Acme Ltd: dave@acme.test was made a company admin', 'Alice Admin (alice.admin@acme.test) made Dave Jones (dave@acme.test) a company admin of Acme Ltd'],
    ['company_admin_revoked', 'Security alert for Acme Ltd: dave@acme.test is no longer a company admin', 'Alice Admin (alice.admin@acme.test) removed the company admin role of Dave Jones (dave@acme.test)'],
    ['member_removed', 'Security alert for Acme Ltd: dave@acme.test was removed', 'Alice Admin (alice.admin@acme.test) removed Dave Jones (dave@acme.test) from the contacts of Acme Ltd'],
  ] as const)('tells of %s, who did it and when', (event, subject, sentence) => {
    const mail = renderer.render('security_alert', teamChange(event));
    expect(mail.subject).toBe(subject);
    expect(mail.text).toContain(sentence);
    expect(mail.text).toContain('(23 Nov 2026, 08:00 UTC)');
    expect(mail.html).toContain(escapeHtml(sentence).replace(/Alice Admin \(alice\.admin@acme\.test\)/, '<strong>Alice Admin (alice.admin@acme.test)</strong>').replace(/Dave Jones \(dave@acme\.test\)/, '<strong>Dave Jones (dave@acme.test)</strong>'));
    expect(mail.text).not.toContain('Reference:');
    expect(mail.text).not.toContain('claims to come from');
  });

  it('escapes hostile names and case subjects in HTML, keeps them plain in text, and keeps them out of the subject line', () => {
    const hostile = { ...props(), person: { name: `Eve ${HOSTILE}`, email: 'dave@acme.test' }, case: { reference: 'CASE-000123', subject: `Pay now ${HOSTILE}`, receivedAt: '23 Nov 2026, 08:00 UTC' } };
    const mail = renderer.render('security_alert', hostile);
    expect(mail.html).not.toContain('<script');
    expect(mail.html).toContain(escapeHtml(`Pay now ${HOSTILE}`));
    expect(mail.html).toContain(escapeHtml(`Eve ${HOSTILE}`));
    expect(mail.text).toContain(`Pay now ${HOSTILE}`);
    expect(mail.text).not.toContain('&lt;');
    expect(mail.subject).not.toContain('Pay now');
    const admin = renderer.render('security_alert', { ...teamChange('company_admin_granted'), actor: { name: `Mal ${HOSTILE}`, email: 'mal@acme.test' } });
    expect(admin.html).not.toContain('<script');
    expect(admin.html).toContain(escapeHtml(`Mal ${HOSTILE}`));
  });
});

describe('acknowledgement', () => {
  it('says the case is open and names the infrastructure when known', () => {
    const mail = renderer.render('acknowledgement', { case: caseView(), infrastructure });
    expect(mail.subject).toBe('[CASE-000123] We received your request: Backups fail since Monday');
    expect(mail.text).toContain('opened case CASE-000123 for Acme Production');
    expect(mail.text).toContain('What happens next');
    expect(mail.text).toMatch(/^Hello Dave Jones,/);
  });

  it('works without an infrastructure or a requester name', () => {
    const mail = renderer.render('acknowledgement', { case: caseView({ requesterName: null }), infrastructure: null });
    expect(mail.text).toContain('opened case CASE-000123.');
    expect(mail.text).toMatch(/^Hello,/);
    expect(mail.text).toContain('From:      dave@acme.test\n');
  });
});

describe('approval_expired_notice', () => {
  it('tells the requester nobody answered and what they can do, naming no administrator', () => {
    const mail = renderer.render('approval_expired_notice', { case: caseView(), heldCases: 2, validDays: 7 });
    expect(mail.subject).toMatch(/Still on hold, nobody has answered yet/);
    expect(mail.text).toContain('7 days ago');
    expect(mail.text).toContain('2 requests from you');
    expect(mail.text).toMatch(/support portal/);
    expect(mail.text).not.toContain(ADMIN_EMAIL);
  });
});

describe('held_notice', () => {
  it('receives only the case and whether approval was asked for', () => {
    const props: MailProps['held_notice'] = { case: caseView(), awaitingApproval: true, tooLarge: null };
    expect(Object.keys(props)).toEqual(['case', 'awaitingApproval', 'tooLarge']);
  });

  it('does not claim the administrators were asked when the case could not be routed', () => {
    const mail = renderer.render('held_notice', { case: caseView(), awaitingApproval: false, tooLarge: null });
    expect(mail.text).not.toMatch(/asked your company's administrators/);
    expect(mail.text).toMatch(/support team first needs to work out/);
  });

  it('mentions the administrators without naming them or any address, and has no links', () => {
    // Even if a caller passed more than the case, the template must not show it.
    const props = { ...sampleProps().approval_request, awaitingApproval: true, tooLarge: null } as unknown as MailProps['held_notice'];
    const mail = renderer.render('held_notice', props);
    expect(mail.subject).toBe('[CASE-000123] Your request is on hold: Backups fail since Monday');
    for (const body of [mail.text, mail.html]) {
      expect(body).toContain('administrators');
      expect(body).toContain('straight through');
      expect(body).not.toContain(ADMIN_EMAIL);
      expect(body).not.toContain(ADMIN_NAME);
      expect(body).not.toContain(infrastructure.companyName);
      expect(body).not.toContain('http');
      // The only address shown is the requester's own.
      expect(body.split('dave@acme.test').join('')).not.toContain('@');
    }
    expect(mail.html).not.toMatch(/<a\b/);
  });
});

describe('approval_request', () => {
  const props = (): MailProps['approval_request'] => sampleProps().approval_request;

  it('asks to authorize the requester for the infrastructure', () => {
    const mail = renderer.render('approval_request', props());
    expect(mail.subject).toBe('[CASE-000123] Authorize dave@acme.test to open cases for Acme Production?');
    expect(mail.text).toMatch(/^Hello Alice Admin,/);
    expect(mail.text).toContain('Dave Jones (dave@acme.test)');
    expect(mail.text).toContain('Acme Production (Acme Ltd)');
    expect(mail.text).toContain('23 Nov 2026, 08:00 UTC');
    expect(mail.text).toContain('> since Monday the nightly backup');
    expect(mail.text).toContain('write AUTHORIZE or IGNORE above the quoted text');
    expect(mail.html).toContain('write <strong>AUTHORIZE</strong> or <strong>IGNORE</strong> above the quoted text');
    expect(mail.text).toContain('one more click');
    expect(mail.text).toContain('30 Nov 2026, 08:00 UTC');
    expect(mail.text).not.toContain('cases from dave@acme.test are waiting');
    // The reply address travels in Reply-To, set by the sender, not in the body.
    expect(mail.text).not.toContain(links.replyAddress);
  });

  it('contains both links in the text and the HTML', () => {
    const mail = renderer.render('approval_request', props());
    expect(mail.text).toContain(`\n${links.authorize}\n`);
    expect(mail.text).toContain(`\n${links.ignore}\n`);
    expect(mail.html).toContain(`href="${escapeHtml(links.authorize)}"`);
    expect(mail.html).toContain(`href="${escapeHtml(links.ignore)}"`);
    expect(mail.html).toMatch(/>Authorize<\/a>/);
    expect(mail.html).toMatch(/>Ignore<\/a>/);
  });

  it('greets without a name and counts the waiting cases', () => {
    const mail = renderer.render('approval_request', { ...props(), approver: { name: null, email: ADMIN_EMAIL }, pendingCases: 4 });
    expect(mail.text).toMatch(/^Hello,/);
    expect(mail.text).toContain('4 cases from dave@acme.test are waiting');
    expect(mail.html).toContain('4 cases from dave@acme.test are waiting');
  });
});

describe('approval_reminder', () => {
  it('is the request with a still-waiting lead-in', () => {
    const p = sampleProps();
    const reminder = renderer.render('approval_reminder', { ...p.approval_reminder, pendingCases: 1 });
    const request = renderer.render('approval_request', p.approval_request);
    expect(reminder.subject).toBe('[CASE-000123] Reminder: authorize dave@acme.test to open cases for Acme Production?');
    expect(reminder.text).toContain('still waiting');
    expect(reminder.html).toContain('still waiting');
    expect(reminder.text.replace(/\nThis request is still waiting for a decision\.\n/, '')).toBe(request.text);
    expect(reminder.html).toContain(`href="${escapeHtml(links.authorize)}"`);
  });
});

describe('released_notice', () => {
  it('says the case is open and later cases go straight through', () => {
    const mail = renderer.render('released_notice', sampleProps().released_notice);
    expect(mail.subject).toBe('[CASE-000123] Your request is open now: Backups fail since Monday');
    expect(mail.text).toContain('authorized you');
    expect(mail.text).toContain('is open now');
    expect(mail.text).toContain('straight through');
    expect(mail.text).not.toContain(ADMIN_EMAIL);
  });

  it('promises nothing more when support released just this case', () => {
    const mail = renderer.render('released_notice', { ...sampleProps().released_notice, authorized: false });
    expect(mail.text).toContain('Our support team released your case CASE-000123');
    expect(mail.text).not.toMatch(/authorized you|straight through/);
    expect(mail.html).not.toMatch(/authorized you|straight through/);
  });
});

describe('approval_reply_undecided', () => {
  const base = (): MailProps['approval_reply_undecided'] => sampleProps().approval_reply_undecided;
  it('says what was read, why it decided nothing, and gives the links and the rule again', () => {
    const mail = renderer.render('approval_reply_undecided', base());
    expect(mail.subject).toBe('[CASE-000123] Your reply decided nothing: authorize or ignore dave@acme.test?');
    expect(mail.text).toContain('decided nothing, because it says both authorize and ignore.');
    expect(mail.text).toContain('> OK to ignore - he left');
    expect(mail.text).toContain(`AUTHORIZE: ${links.authorize}`);
    expect(mail.text).toContain(`IGNORE: ${links.ignore}`);
    expect(mail.text).toContain('write AUTHORIZE or IGNORE above the quoted text');
    expect(mail.html).toContain(`href="${escapeHtml(links.authorize)}"`);
    expect(mail.html).toContain(`href="${escapeHtml(links.ignore)}"`);
  });

  it('says so when nothing was read', () => {
    expect(renderer.render('approval_reply_undecided', { ...base(), read: '' }).text).toContain('> (nothing)');
  });
});

describe('decision_confirmation', () => {
  const base = (): MailProps['decision_confirmation'] => sampleProps().decision_confirmation;

  it('confirms an authorization with the released cases', () => {
    const mail = renderer.render('decision_confirmation', base());
    expect(mail.subject).toBe('[CASE-000123] You authorized dave@acme.test for Acme Production');
    expect(mail.text).toContain('You authorized Dave Jones (dave@acme.test) to open cases for Acme Production');
    expect(mail.text).toContain('2 waiting cases opened now.');
    expect(renderer.render('decision_confirmation', { ...base(), releasedCases: 1 }).text).toContain('1 waiting case opened now.');
    expect(renderer.render('decision_confirmation', { ...base(), releasedCases: 0 }).text).not.toContain('opened now');
  });

  it('confirms an ignore', () => {
    const mail = renderer.render('decision_confirmation', { ...base(), decision: 'ignore', releasedCases: 0 });
    expect(mail.subject).toBe('[CASE-000123] You ignored dave@acme.test for Acme Production');
    expect(mail.text).toContain('You ignored Dave Jones (dave@acme.test) for Acme Production');
    expect(mail.html).toContain('<strong>ignored</strong>');
  });

  it('says nothing changed when someone had decided earlier', () => {
    const earlier = { by: 'Bob Builder', channel: 'the web page', at: '24 Nov 2026, 09:15 UTC', decision: 'ignore' as const };
    const mail = renderer.render('decision_confirmation', { ...base(), decision: 'authorize', earlier, releasedCases: 0 });
    expect(mail.subject).toBe('[CASE-000123] No change: dave@acme.test for Acme Production was already decided');
    for (const body of [mail.text, mail.html]) {
      expect(body).toContain('reply (AUTHORIZE). It changed nothing');
      expect(body).toContain('Bob Builder');
      expect(body).toContain('already ignored');
      expect(body).toContain('the web page');
      expect(body).toContain('24 Nov 2026, 09:15 UTC');
      expect(body).not.toContain('You authorized');
    }
  });
});

describe('load', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'mail-templates-'));
    cpSync(TEMPLATES_DIR, tmp, { recursive: true });
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('fails naming a missing kind file', async () => {
    rmSync(path.join(tmp, 'held_notice/html.hbs'));
    await expect(MailRenderer.load(tmp)).rejects.toThrow(path.join(tmp, 'held_notice/html.hbs'));
  });

  it('fails naming a missing layout', async () => {
    rmSync(path.join(tmp, 'layouts/text.hbs'));
    await expect(MailRenderer.load(tmp)).rejects.toThrow(path.join(tmp, 'layouts/text.hbs'));
  });

  it('fails on an unknown partial', async () => {
    rmSync(path.join(tmp, 'partials/footer.text.hbs'));
    await expect(MailRenderer.load(tmp)).rejects.toThrow(/unknown partial "footer\.text"/);
  });

  it('refuses a triple-stashed prop', async () => {
    writeFileSync(path.join(tmp, 'held_notice/html.hbs'), '<p>{{{case.subject}}}</p>\n');
    await expect(MailRenderer.load(tmp)).rejects.toThrow(/held_notice\/html\.hbs: \{\{\{case\.subject\}\}\} is not allowed/);
  });

  it('refuses a syntax error or an unknown helper, naming the file', async () => {
    writeFileSync(path.join(tmp, 'acknowledgement/subject.hbs'), '[{{case.reference}}] {{shout case.subject}}\n');
    await expect(MailRenderer.load(tmp)).rejects.toThrow(/acknowledgement\/subject\.hbs: .*shout/);
    writeFileSync(path.join(tmp, 'acknowledgement/subject.hbs'), '[{{case.reference}} {{#if x}}\n');
    await expect(MailRenderer.load(tmp)).rejects.toThrow(/acknowledgement\/subject\.hbs/);
  });
});

describe('oneLineProps', () => {
  it('folds every line break of every string into a space, except the excerpt’s', () => {
    const breaks = 'a\r\nb\rc\nd\u000be\u000cf\u0085g\u2028h\u2029i';
    expect(oneLineProps({ case: { subject: breaks, excerpt: 'one\ntwo', requesterName: null }, list: [breaks], n: 3 })).toEqual({
      case: { subject: 'a b c d e f g h i', excerpt: 'one\ntwo', requesterName: null },
      list: ['a b c d e f g h i'],
      n: 3,
    });
  });
});
