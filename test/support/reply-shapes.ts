import MailComposer from 'nodemailer/lib/mail-composer';

/**
 * Replies to an approval request as real mail clients write them: where each puts the quoted
 * request, how it marks it, how it encodes the body. Built with nodemailer's composer, so the MIME
 * (multipart/related with an inline logo, quoted-printable, base64) is real.
 */
export interface ReplyTo {
  from: string;
  to: string;
  /** The request's Message-ID, without brackets. */
  inReplyTo: string;
  messageId: string;
}

type Encoding = 'quoted-printable' | 'base64';

const REQUEST_LINES = [
  'Hello Bob Builder,',
  '',
  'rita@acme.test wrote to support about Acme Production (Acme Corporation) but is not yet authorized to open cases for it.',
  '',
  'AUTHORIZE: rita@acme.test may open cases for Acme Production from now on.',
  'https://support.example.com/approvals/x?decision=authorize',
  '',
  'IGNORE: rita@acme.test is not authorized and the waiting case is not opened.',
  'https://support.example.com/approvals/x?decision=ignore',
  '',
  'Or reply to this email. To decide by reply, write AUTHORIZE or IGNORE above the quoted text.',
];
const REQUEST_HTML = REQUEST_LINES.map((l) => (l ? `<p>${l}</p>` : '')).join('');
const gt = (lines: string[]) => lines.map((l) => (l ? `> ${l}` : '>')).join('\n');
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const paragraphs = (text: string) => text.split('\n').map((l) => `<div>${l ? esc(l) : '<br>'}</div>`).join('');
const LOGO = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

export const QUOTED = gt(REQUEST_LINES);

function compose(r: ReplyTo, body: { text?: string; html?: string; encoding?: Encoding; logo?: boolean; headers?: Record<string, string>; subject?: string }): Promise<Buffer> {
  return new MailComposer({
    from: r.from,
    to: r.to,
    subject: body.subject ?? 'RE: [CASE-000001] Authorize rita@acme.test to open cases for Acme Production?',
    messageId: `<${r.messageId}>`,
    inReplyTo: `<${r.inReplyTo}>`,
    references: `<${r.inReplyTo}>`,
    text: body.text,
    html: body.html,
    textEncoding: body.encoding,
    headers: body.headers,
    attachments: body.logo ? [{ filename: 'image001.png', content: LOGO, contentType: 'image/png', cid: 'image001.png@01DB0000.00000000', contentDisposition: 'inline' }] : [],
  })
    .compile()
    .build();
}

/** A shape: builds the reply whose own words are `top`. */
export type Shape = (top: string, r: ReplyTo, opts?: { encoding?: Encoding }) => Promise<Buffer>;

const ATTRIBUTION = {
  en: 'On Mon, Nov 30, 2026 at 9:00 AM Support <support@support.example.com> wrote:',
  de: 'Am Mo., 30. Nov. 2026 um 09:00 Uhr schrieb Support <support@support.example.com>:',
  fr: 'Le lun. 30 nov. 2026 à 09:00, Support <support@support.example.com> a écrit :',
  // Gmail wraps a long attribution over two lines in its text part.
  es: 'El lun, 30 nov 2026 a las 9:00, Support Desk (<support@support.example.com>)\nescribió:',
  pt: 'Em seg., 30 de nov. de 2026 às 09:00, Support <support@support.example.com> escreveu:',
  it: 'Il giorno lun 30 nov 2026 alle ore 09:00 Support <support@support.example.com> ha scritto:',
  nl: 'Op ma 30 nov 2026 om 09:00 schreef Support <support@support.example.com>:',
};
export type Language = keyof typeof ATTRIBUTION;

/** Gmail: text and HTML alternatives, `gmail_quote` with its attribution. */
export const gmail =
  (lang: Language = 'en'): Shape =>
  (top, r, opts) =>
    compose(r, {
      text: `${top}\n\n${ATTRIBUTION[lang]}\n\n${QUOTED}\n`,
      html: `<div dir="ltr">${paragraphs(top)}</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">${esc(ATTRIBUTION[lang])}<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">${REQUEST_HTML}</blockquote></div>`,
      encoding: opts?.encoding,
    });

const OUTLOOK_FIELDS: Record<'en' | 'de', string[]> = {
  en: ['From: Support <support@support.example.com>', 'Sent: Monday, November 30, 2026 9:00 AM', 'To: Bob Builder <bob@acme.test>', 'Subject: [CASE-000001] Authorize rita@acme.test?'],
  de: ['Von: Support <support@support.example.com>', 'Gesendet: Montag, 30. November 2026 09:00', 'An: Bob Builder <bob@acme.test>', 'Betreff: [CASE-000001] Authorize rita@acme.test?'],
};
const outlookHeaderHtml = (lang: 'en' | 'de') => OUTLOOK_FIELDS[lang].map((f) => f.replace(/^([^:]+):/, '<b>$1:</b>')).join('<br>');

/** Outlook desktop: text with the From/Sent/To/Subject block and no `>`, HTML with its border-top div. */
export const outlookDesktop =
  (lang: 'en' | 'de' = 'en'): Shape =>
  (top, r, opts) =>
    compose(r, {
      text: `${top}\n\n${OUTLOOK_FIELDS[lang].join('\n')}\n\n${REQUEST_LINES.join('\n')}\n`,
      html: `<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><style>p.MsoNormal{margin:0}</style></head><body lang="EN-US"><div class="WordSection1">${top
        .split('\n')
        .map((l) => `<p class="MsoNormal">${esc(l) || '&nbsp;'}<o:p></o:p></p>`)
        .join('')}<p class="MsoNormal"><o:p>&nbsp;</o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in"><p class="MsoNormal">${outlookHeaderHtml(lang)}<o:p></o:p></p></div></div>${REQUEST_HTML}</div></body></html>`,
      encoding: opts?.encoding,
    });

/** Outlook on the web / Exchange Online: HTML only, inside multipart/related with the signature's inline logo. */
export const exchangeOnline: Shape = (top, r, opts) =>
  compose(r, {
    html: `<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style type="text/css" style="display:none;">P {margin-top:0;margin-bottom:0;}</style></head><body dir="ltr"><div class="elementToProof" style="font-family:Aptos,Arial,Helvetica,sans-serif;font-size:12pt">${paragraphs(top)}</div><div id="Signature"><p>Bob Builder | IT</p><img src="cid:image001.png@01DB0000.00000000" alt="Acme logo"></div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">${outlookHeaderHtml('en')}</font><div>&nbsp;</div></div>${REQUEST_HTML}</body></html>`,
    logo: true,
    encoding: opts?.encoding,
  });

/** Apple Mail on an iPhone: "Sent from my iPhone", `blockquote type=cite`. */
export const appleMail: Shape = (top, r, opts) =>
  compose(r, {
    text: `${top}\n\nSent from my iPhone\n\n> On 30 Nov 2026, at 09:00, Support <support@support.example.com> wrote:\n>\n${QUOTED}\n`,
    html: `<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body dir="auto">${paragraphs(top)}<div><br></div><div id="AppleMailSignature" dir="ltr">Sent from my iPhone</div><div dir="ltr"><br><blockquote type="cite">On 30 Nov 2026, at 09:00, Support &lt;support@support.example.com&gt; wrote:<br><br></blockquote></div><blockquote type="cite"><div dir="ltr">${REQUEST_HTML}</div></blockquote></body></html>`,
    encoding: opts?.encoding,
  });

/** Thunderbird: `moz-cite-prefix` and `blockquote type=cite`; `bottom` puts the answer under the quote. */
export const thunderbird =
  (bottom = false): Shape =>
  (top, r, opts) => {
    const prefix = 'On 30/11/2026 09:00, Support wrote:';
    return compose(r, {
      text: bottom ? `${prefix}\n${QUOTED}\n\n${top}\n` : `${top}\n\n${prefix}\n${QUOTED}\n`,
      html: bottom
        ? `<html><body><div class="moz-cite-prefix">${prefix}<br></div><blockquote type="cite">${REQUEST_HTML}</blockquote>${paragraphs(top)}</body></html>`
        : `<html><body>${paragraphs(top)}<div class="moz-cite-prefix">${prefix}<br></div><blockquote type="cite" cite="mid:${r.inReplyTo}">${REQUEST_HTML}</blockquote></body></html>`,
      encoding: opts?.encoding,
    });
  };

/** Plain text only, in the given language's "On ... wrote:" form, or Outlook's "-----Original Message-----". */
export const plain =
  (lang: Language | 'original' = 'en'): Shape =>
  (top, r, opts) =>
    compose(r, {
      text: lang === 'original' ? `${top}\n\n-----Original Message-----\n${OUTLOOK_FIELDS.en.join('\n')}\n\n${REQUEST_LINES.join('\n')}\n` : `${top}\n\n${ATTRIBUTION[lang]}\n${QUOTED}\n`,
      encoding: opts?.encoding,
    });

/** HTML only, no text part at all (some webmail), optionally with an empty text/plain beside it. */
export const htmlOnly =
  (emptyText = false): Shape =>
  (top, r, opts) =>
    compose(r, {
      text: emptyText ? ' \r\n' : undefined,
      html: `<html><body>${paragraphs(top)}<blockquote type="cite">${REQUEST_HTML}</blockquote></body></html>`,
      encoding: opts?.encoding,
    });

/** An out-of-office answer (RFC 3834), which must stay automatic whatever it says. */
export const autoReply =
  (headers: Record<string, string>, subject: string): Shape =>
  (top, r) =>
    compose(r, { text: `${top}\n`, headers, subject });
