import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_DIR } from '../../test/support/shared';
import { nestsDeeperThan } from './html-text';
import { visibleText } from './visible-text';
import { FOLD_HTML_CHARS, foldedReply, writtenReply, writtenText } from './written-reply';

// GitHub's email_reply_parser fixtures; expectations from its Ruby test file, stated as the
// visible text (its fragments that are not hidden).
const FIXTURES = join(SHARED_DIR, 'corpus/reply-quotes/github-email_reply_parser/emails');
const fixture = (name: string) => readFileSync(join(FIXTURES, `${name}.txt`), 'utf8');

describe('writtenText on the email_reply_parser corpus', () => {
  it.each([
    ['email_1_1', 'Hi folks\n\nWhat is the best way to clear a Riak bucket of all key, values after\nrunning a test?\nI am currently using the Java HTTP API.'],
    ['email_1_3', 'Oh thanks.\n\nHaving the function would be great.'],
    ['email_1_4', "Awesome! I haven't had another problem with it."],
    ['email_1_6', 'I get proper rendering as well.'],
    ['email_1_7', ':+1:'],
    ['correct_sig', 'this is an email with a correct -- signature.'],
    ['email_2_1', 'Outlook with a reply'],
    ['email_2_2', 'Outlook with a reply directly above line'],
    ['email_2_3', 'Outlook with a reply directly above line'],
    ['email_iPhone', 'Here is another email'],
    ['email_BlackBerry', 'Here is another email'],
    ['email_multi_word_sent_from_my_mobile_device', 'Here is another email'],
    ['email_sent_from_my_not_signature', 'Here is another email\n\nSent from my desk, is much easier then my mobile phone.'],
    ['email_bullets', 'test 2 this should list second\n\nand have spaces\n\nand retain this formatting\n\n\n   - how about bullets\n   - and another'],
    ['email_one_is_not_on', 'Thank, this is really helpful.\n\nOne outstanding question I had:\n\nLocally (on development), when I run...'],
    ['greedy_on', 'On your remote host you can run:\n\n     telnet 127.0.0.1 52698\n\nThis should connect to TextMate (on your Mac, via the tunnel). If that\nfails, the tunnel is not working.'],
    ['pathological', "I think you're onto something. I will try to fix the problem as soon as I\nget back to a computer."],
  ])('%s', (name, expected) => {
    expect(writtenText(fixture(name))).toBe(expected);
  });

  it('keeps a body with no quote and no signature whole (email_1_5, the mid-line "--")', () => {
    expect(writtenText(fixture('email_1_5'))).toBe(fixture('email_1_5').trim());
    expect(writtenText(fixture('email_sig_delimiter_in_middle_of_line'))).toBe(fixture('email_sig_delimiter_in_middle_of_line').trim());
  });

  it('keeps a non-ASCII body as it is', () => {
    expect(writtenText('Here’s a test.')).toBe('Here’s a test.');
  });

  // A knowing difference: upstream keeps the quoted lines between a bottom-posted or inline
  // answer in its visible text; we keep only the lines the person wrote, because a quoted
  // request must never be read as the person's words.
  it('keeps the answers written under and between quotes, without the quotes (email_1_2, email_1_8)', () => {
    const bottom = writtenText(fixture('email_1_2'));
    expect(bottom).toMatch(/^Hi,\nYou can list the keys/);
    expect(bottom).toMatch(/delete them all individually\."$/);
    expect(bottom).not.toMatch(/^>|wrote:|Abhishek Kona|riak-users/m);
    expect(writtenText(fixture('email_1_8'))).toBe('I will reply under this one\n\nand under this.');
  });

  it('reads the long-quote and pathological fixtures in one linear pass', () => {
    expect(writtenText(fixture('email_long_quote'))).toMatch(/^Hi folks/);
    // Work done, not time: a 10 MB body of attribution-like lines ends with its own words.
    const hostile = `Yes\n${'On a wrote On a wrote '.repeat(500)}\n`.repeat(2000);
    expect(writtenText(hostile).split('\n')[0]).toBe('Yes');
  });
});

describe('writtenText on the shapes real clients quote in', () => {
  const request = '> Authorize rita@acme.test to open cases for Acme Production?\n> AUTHORIZE: https://x.test/a\n> IGNORE: https://x.test/i';
  it.each([
    ['Gmail', `Yes\n\nOn Mon, Nov 30, 2026 at 9:00 AM Support <support@support.example.com> wrote:\n\n${request}`],
    ['Gmail, attribution wrapped', `Yes\n\nOn Mon, Nov 30, 2026 at 9:00 AM Support <\nsupport@support.example.com> wrote:\n${request}`],
    ['Apple Mail', `Yes\n\nSent from my iPhone\n\n> On 30 Nov 2026, at 09:00, Support <support@support.example.com> wrote:\n>\n${request}`],
    ['Thunderbird', `Yes\n\nOn 30.11.26 09:00, Support wrote:\n${request}`],
    ['German', `Yes\n\nAm Mo., 30. Nov. 2026 um 09:00 Uhr schrieb Support <support@support.example.com>:\n${request}`],
    ['French', `Yes\n\nLe lun. 30 nov. 2026 à 09:00, Support <support@support.example.com> a écrit :\n${request}`],
    ['Spanish', `Yes\n\nEl lun, 30 nov 2026 a las 9:00, Support (<support@support.example.com>)\nescribió:\n${request}`],
    ['Portuguese', `Yes\n\nEm seg., 30 de nov. de 2026 às 09:00, Support <support@support.example.com> escreveu:\n${request}`],
    ['Italian', `Yes\n\nIl giorno lun 30 nov 2026 alle ore 09:00 Support <support@support.example.com> ha scritto:\n${request}`],
    ['Dutch', `Yes\n\nOp ma 30 nov 2026 om 09:00 schreef Support <support@support.example.com>:\n${request}`],
    ['Outlook desktop', 'Yes\n\nFrom: Support <support@support.example.com>\nSent: Monday, November 30, 2026 9:00 AM\nTo: Bob <bob@acme.test>\nSubject: [CASE-000001] Authorize rita@acme.test?\n\nAuthorize rita@acme.test? AUTHORIZE or IGNORE'],
    ['Outlook, German', 'Yes\n\nVon: Support <support@support.example.com>\nGesendet: Montag, 30. November 2026 09:00\nAn: Bob\nBetreff: Authorize?\n\nIGNORE'],
    ['Outlook separator', 'Yes\n________________________________\nFrom: Support\nSent: Monday\n\nIGNORE'],
    ['Original Message', 'Yes\n\n-----Original Message-----\nFrom: Support\nIGNORE'],
    ['Outlook on a phone, one line', 'Yes\n\nFrom: Support <support@support.example.com> Sent: Monday, November 30, 2026 9:00 AM To: Bob Subject: Authorize?\nIGNORE'],
  ])('%s: only "Yes"', (_client, body) => {
    expect(writtenText(body)).toBe('Yes');
  });

  it('drops the signature and the disclaimer that has the other word in it', () => {
    expect(writtenText('Yes\n\nBest regards,\nBob\nACME\nIf you are not the intended recipient, do not read, copy or ignore this.')).toBe('Yes');
    expect(writtenText('Yes\n-- \nBob | ACME\nCONFIDENTIALITY NOTICE: ... no ...')).toBe('Yes');
    expect(writtenText('Yes\n\nThis email and any attachments are confidential. If you are not the intended recipient, do not ignore this notice.')).toBe('Yes');
  });

  it('takes "-Name" for a signature, but not a dash line the person wrote', () => {
    expect(writtenText('Yes\n\n-Bob Builder')).toBe('Yes');
    expect(writtenText('Yes\n-but only for production')).toBe('Yes\n-but only for production');
  });

  it('keeps a closing that is all there is, and an empty top empty', () => {
    expect(writtenText('Thanks!\n\nAuthorize')).toBe('Thanks!\n\nAuthorize');
    expect(writtenText(`\n\nOn Mon, Support wrote:\n${request}`)).toBe('');
  });
});

describe('writtenReply on HTML', () => {
  const html = (body: string) => `<html><head><style>p{margin:0}</style></head><body>${body}</body></html>`;
  it.each([
    ['Gmail', '<div dir="ltr">Yes</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Nov 30, 2026 at 9:00 AM Support &lt;support@support.example.com&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">Authorize rita? <a href="https://x.test/a">Authorize</a> <a href="https://x.test/i">Ignore</a></blockquote></div>'],
    ['Gmail with signature', '<div dir="ltr">Yes<br clear="all"><div><br></div><span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature">Bob<br>Please do not ignore this signature</div></div><br><div class="gmail_quote"><blockquote class="gmail_quote">Ignore?</blockquote></div>'],
    ['Apple Mail', '<div dir="auto">Yes<br><br><div id="AppleMailSignature" dir="ltr">Sent from my iPhone</div><div dir="ltr"><br><blockquote type="cite">On 30 Nov 2026, at 09:00, Support &lt;support@support.example.com&gt; wrote:<br><br></blockquote></div><blockquote type="cite"><div dir="ltr">Ignore?</div></blockquote></div>'],
    ['Thunderbird', '<p>Yes</p><div class="moz-cite-prefix">On 30.11.26 09:00, Support wrote:<br></div><blockquote type="cite" cite="mid:x@support.example.com">Authorize or IGNORE</blockquote><pre class="moz-signature" cols="72">-- \nBob, do not ignore</pre>'],
    ['Outlook on the web', '<div id="divtagdefaultwrapper"><p>Yes</p></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Support<br><b>Sent:</b> Monday<br><b>Subject:</b> Authorize?</font><div>&nbsp;</div></div><div>IGNORE</div>'],
    ['Exchange Online', '<div class="elementToProof">Yes</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> Support</div><div>Ignore</div>'],
    ['Outlook desktop', '<div class="WordSection1"><p class="MsoNormal">Yes<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in"><p class="MsoNormal"><b>From:</b> Support &lt;support@support.example.com&gt; <br><b>Sent:</b> Monday, November 30, 2026 9:00 AM<br><b>To:</b> Bob<br><b>Subject:</b> Authorize?<o:p></o:p></p></div></div><p class="MsoNormal">IGNORE</p></div>'],
  ])('%s: only "Yes"', (_client, body) => {
    expect(writtenReply({ text: '', html: html(body) })).toBe('Yes');
  });

  it('prefers the HTML, and falls back to the text when the HTML has none', () => {
    expect(writtenReply({ text: 'No\n', html: html('<p>Yes</p>') })).toBe('Yes');
    expect(writtenReply({ text: 'No\n', html: html('<img src="cid:logo">') })).toBe('No');
  });
});

describe('visibleText', () => {
  it('is the text/plain part when it has content, else the HTML as text', () => {
    expect(visibleText({ text: 'Hello\n', html: '<p>Other</p>' })).toBe('Hello\n');
    expect(visibleText({ text: ' \r\n\t', html: '<p>Hello <b>there</b></p><img src="cid:logo.png" alt="Logo"><p>Line 2</p>' })).toBe('Hello there\n\nLine 2');
    expect(visibleText({ text: '', html: null })).toBe('');
  });

  it('gives no text for HTML nested past the limit, instead of a quadratic parse', () => {
    const deep = `${'<b>'.repeat(5000)}x`;
    expect(nestsDeeperThan(deep, 1000)).toBe(true);
    expect(nestsDeeperThan('<p><p><p>x<br><img></p>', 2)).toBe(false);
    expect(visibleText({ text: '', html: deep })).toBe('');
  });
});

describe('foldedReply: what a thread shows first', () => {
  it('is the written part of a reply that quotes its history (email_1_3)', () => {
    expect(foldedReply({ text: fixture('email_1_3'), html: null })).toBe('Oh thanks.\n\nHaving the function would be great.');
  });

  it('is null when the whole message is what they wrote (nothing to fold)', () => {
    expect(foldedReply({ text: fixture('email_1_5'), html: null })).toBeNull();
    expect(foldedReply({ text: 'The printer is on fire.\n', html: null })).toBeNull();
  });

  it('is null when only quoted history would be left (nothing written above it)', () => {
    expect(foldedReply({ text: '> only the quote\n> of the last message', html: null })).toBeNull();
  });

  it('folds a reply with a huge HTML body from its text, without converting the HTML', () => {
    const html = `<div>${'<p>filler</p>'.repeat(FOLD_HTML_CHARS / 13 + 1)}</div>`;
    expect(html.length).toBeGreaterThan(FOLD_HTML_CHARS);
    expect(foldedReply({ text: 'Still broken.\n\nOn Mon, Support wrote:\n> Please update.', html })).toBe('Still broken.');
  });

  it('reads an HTML-only reply: Gmail quote and signature folded', () => {
    const html = '<div dir="ltr">Still broken after the update.</div><br><div class="gmail_quote"><div class="gmail_attr">On Mon, Support wrote:</div><blockquote class="gmail_quote">Please update the firmware.</blockquote></div><div class="gmail_signature">Ann, Acme IT</div>';
    expect(foldedReply({ text: '', html })).toBe('Still broken after the update.');
  });
});
