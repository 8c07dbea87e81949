import { bodyOffset, headerBlock } from './headers';

export type MailClass = 'person' | 'auto_reply' | 'bounce' | 'feedback_report' | 'list' | 'own';

export interface Classification {
  class: MailClass;
  /** Short and human-readable, e.g. 'Auto-Submitted: auto-replied'; kept with the message for audits. */
  reason: string;
}

/** Unfolded header fields by lower-case name, topmost first. */
export type HeaderFields = Map<string, string[]>;

/** Parses a header block (as read by headerBlock: latin1, one char a byte). */
export function parseFields(block: string): HeaderFields {
  const fields: HeaderFields = new Map();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (/\s/.test(name)) continue; // an mbox "From sender date" line, not a field
    const values = fields.get(name);
    if (values) values.push(line.slice(colon + 1).trim()); // not a copy per line: a header block can hold thousands
    else fields.set(name, [line.slice(colon + 1).trim()]);
  }
  return fields;
}

export const headerFields = (raw: Buffer): HeaderFields => parseFields(headerBlock(raw));

function decodeBytes(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset.replace(/\*.*$/, '').trim() || 'utf-8').decode(bytes);
  } catch {
    return bytes.toString('latin1'); // an unknown charset: the ASCII we match on survives
  }
}

/** RFC 2047 encoded words, and raw UTF-8 (RFC 6532) that headerBlock read as latin1. */
export function decodeHeader(value: string): string {
  const utf8 = Buffer.from(value, 'latin1').toString('utf8');
  const text = utf8.includes('\uFFFD') ? value : utf8;
  return text
    .replace(/(=\?[^?\s]+\?[bq]\?[^?\s]*\?=)\s+(?==\?)/gi, '$1')
    .replace(/=\?([^?\s]+)\?([bq])\?([^?\s]*)\?=/gi, (_m, charset: string, enc: string, data: string) => {
      const bytes =
        enc.toLowerCase() === 'b'
          ? Buffer.from(data, 'base64')
          : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_h, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
      return decodeBytes(bytes, charset);
    });
}

// A parameter starts only where a name starts (the lookbehind), and a quoted value runs to its
// closing quote or the end: no position is scanned twice, so a long value costs linear time.
const PARAMETER = /(?<![\w.*-])([\w.*-]+)\s*=\s*(?:"((?:[^"\\]|\\.?)*)(?:"|$)|([^;\s]+))/g;

/** A Content-Type's lower-case media type and parameters (names lower-cased, quotes removed). */
export function parseContentType(value: string | undefined): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  const [type = '', ...rest] = (value ?? '').split(';');
  for (const m of rest.join(';').matchAll(PARAMETER)) {
    params.set(m[1]!.toLowerCase(), m[2] ?? m[3] ?? '');
  }
  return { type: type.trim().toLowerCase(), params };
}

/** The address inside a From/Return-Path value ('' for `<>`), and the whole value for name checks. */
function mailbox(value: string | undefined): string {
  if (value === undefined) return '';
  const bracketed = /<([^<>]*)>/.exec(value);
  if (bracketed) return bracketed[1]!.trim().toLowerCase();
  return value.replace(/\([^()]*\)/g, ' ').replace(/"[^"]*"/g, ' ').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
}
const localPart = (address: string): string => address.split('@')[0] ?? '';

const DAEMON = /^(mailer[-_.]?daemon|mail[-_.]?daemon|mail\.delivery\.system)$/;
const POSTMASTER = /^(postmaster|post_master|poostmaster)$/;
const NO_REPLY = /^(no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply)$/;

// Subject wording of delivery reports; only counts when the sender also looks automatic, since
// a customer may well write "Undeliverable mail from your system" to a help desk.
const BOUNCE_SUBJECT =
  /^(?!(re|fwd?|aw|wg|tr|sv|vs)\s*:)[\s\S]*(undeliver|delivery (status|failure|failed|report|problem|notification|notice)|mail delivery fail|failure notice|returned mail|returning message|undelivered mail|non-?delivery|could not be delivered|mail system error|bounce notification|delivery has failed|not delivered|nondeliverable|unzustellbar|non remis|no se puede entregar|onbestelbaar|non recapitabile|メールエラー|配信エラー|送信エラー)/i;

// Phrases delivery software writes; like the subject, only with an automatic-looking sender
// (a person forwarding a bounce to support must still become a case).
const BOUNCE_BODY = new RegExp(
  [
    'this is the mail system at host', 'qmail-send program', 'mail delivery (software|system|subsystem)', 'could not be delivered',
    "couldn't be delivered", 'was not delivered', 'undeliverable', 'delivery (has |to the following recipients? )?failed', 'permanent (fatal )?error',
    'following address(es)? (had|failed)', 'unable to deliver', 'delivery status notification', 'user unknown', 'no such user', 'mailbox (is )?(full|unavailable)',
    'recipient address rejected', 'invalid (user|recipient) address', 'remote host said', 'rcpt to', 'returned mail', 'message could not be',
    'failed to deliver', 'delivery failure', '\\b[45]\\.[0-7]\\.\\d{1,3}\\b', '\\b55[0-4][ -]',
  ].join('|'),
  'i',
);

// Subject prefixes only autoresponders write (Exchange, Outlook, Notes, Gmail, iCloud in many
// languages): enough on their own. A person answering one writes "Re: Automatic reply: ...".
const AUTO_REPLY_SUBJECT =
  /^(automatic reply|auto(matic)?[- ]?reply|autoreply|auto[- ]?response|autorespons\w*|out of (the )?office( auto ?reply)?|abwesenheitsnotiz|automatische antwort|réponse automatique|respuesta automática|risposta automatica|automatisch antwoord|resposta automática|autosvar|automaattinen vastaus|自動返信|自動応答)\s*:/i;
// Words an out-of-office subject often has but a person's can too ("Auto: new tyres", "Absence
// of invoice"): a weak hint that counts only together with another one.
const WEAK_AUTO_REPLY_SUBJECT = /out of (the )?office|\bauto:|abwesen|absence|\baway\b|vacation|on leave|congés|ausente|不在/i;
// Headers autoresponders add; their presence (any value) marks the message.
const AUTO_REPLY_HEADERS = ['x-autoreply', 'x-autorespond', 'x-autoresponder', 'x-autoreply-from', 'x-mail-autoreply', 'x-vacation'];
const AUTO_REPLY_MAILER = /auto-?respon|auto-?reply|vacation/i;
// Mail clients a person writes with: a postmaster using one is a person, not a report.
const PERSON_MAILER = /outlook|thunderbird|apple mail|iphone|ipad|android|evolution|kmail|claws|mutt|roundcube|sogo|webmail|gmail/i;

/** What the checks look at, read once from the header block (and lazily from the body). */
interface Facts {
  first(name: string): string | undefined;
  has(name: string): boolean;
  subject: string;
  fromAddress: string;
  fromLocal: string;
  /** `Return-Path: <>` or an envelope sender of MAILER-DAEMON. */
  nullReturnPath: boolean;
  autoSubmitted: string | null;
  contentType: string;
  reportType: string | undefined;
  body(): string;
}

function facts(raw: Buffer): Facts {
  const h = headerFields(raw);
  const first = (name: string): string | undefined => h.get(name)?.[0];
  const fromAddress = mailbox(first('from'));
  const returnAddress = h.has('return-path') ? mailbox(first('return-path')) : undefined;
  const auto = first('auto-submitted')?.split(/[;(\s]/)[0]?.toLowerCase();
  const { type, params } = parseContentType(first('content-type'));
  let body: string | undefined;
  return {
    first,
    has: (name) => h.has(name),
    subject: decodeHeader(first('subject') ?? '').trim(),
    fromAddress,
    fromLocal: localPart(fromAddress),
    nullReturnPath: returnAddress === '' || (returnAddress !== undefined && DAEMON.test(localPart(returnAddress))),
    autoSubmitted: auto && auto !== 'no' ? auto : null,
    contentType: type,
    reportType: params.get('report-type')?.toLowerCase(),
    body: () => {
      // Soft line breaks of quoted-printable would split the phrases looked for.
      if (body === undefined) {
        const start = bodyOffset(raw);
        body = raw.subarray(start, start + 64 * 1024).toString('latin1').replace(/=\r?\n/g, '');
      }
      return body;
    },
  };
}

const hasPart = (f: Facts, type: RegExp): boolean => new RegExp(`^content-type:\\s*${type.source}\\b`, 'im').test(f.body());
const fromSes = (f: Facts, kind: RegExp): boolean =>
  /@sns\.amazonaws\.com$/.test(f.fromAddress) && new RegExp(`\\\\?"notificationType\\\\?"\\s*:\\s*\\\\?"(${kind.source})`).test(f.body());
const found = (cls: MailClass, reason: string): Classification => ({ class: cls, reason });

function feedbackReport(f: Facts): Classification | null {
  if (f.contentType === 'multipart/report' && f.reportType === 'feedback-report') return found('feedback_report', 'multipart/report; report-type=feedback-report');
  if (f.contentType === 'multipart/report' && !f.reportType && hasPart(f, /message\/feedback-report/)) return found('feedback_report', 'message/feedback-report part');
  // Hotmail's JMRP complaints are multipart/mixed with the reported message attached.
  if (/^complaint about message from/i.test(f.subject) && /^X-HmXmrOriginalRecipient:/im.test(f.body())) return found('feedback_report', 'Hotmail JMRP complaint');
  if (f.first('x-apple-unsubscribe')?.toLowerCase() === 'true') return found('feedback_report', 'X-Apple-Unsubscribe (unsubscribe request)');
  if (fromSes(f, /Complaint/)) return found('feedback_report', 'Amazon SES complaint notification');
  return null;
}

function bounce(f: Facts): Classification | null {
  const report = f.contentType === 'multipart/report';
  if (report && f.reportType === 'delivery-status') return found('bounce', 'multipart/report; report-type=delivery-status');
  if (report && !f.reportType && hasPart(f, /message\/(global-)?delivery-status/)) return found('bounce', 'message/delivery-status part');
  if (f.has('x-failed-recipients')) return found('bounce', 'X-Failed-Recipients');
  // Nothing but delivery software sends as MAILER-DAEMON (also written as a display name: "MAILER-DAEMON <>").
  if (DAEMON.test(f.fromLocal) || /mailer[-_ ]?daemon/i.test((f.first('from') ?? '').replace(/<[^<>]*>/g, ''))) return found('bounce', 'From: MAILER-DAEMON');
  // SES reports successful deliveries the same way: a delivery report, like a DSN with Action: delivered.
  if (fromSes(f, /Bounce|Delivery/)) return found('bounce', 'Amazon SES delivery notification');

  const returnPath = mailbox(f.first('return-path'));
  const postmaster = POSTMASTER.test(f.fromLocal) || POSTMASTER.test(localPart(returnPath));
  const strongAutomatic = f.nullReturnPath || f.autoSubmitted !== null || NO_REPLY.test(f.fromLocal) || (f.fromAddress === '' && f.has('from'));
  // A postmaster is a role a person can write from too ("we are rejecting your mail, please fix
  // SPF"); from a mail client that is a person, not a report.
  const mailer = `${f.first('x-mailer') ?? ''} ${f.first('user-agent') ?? ''}`;
  if (!strongAutomatic && !(postmaster && !PERSON_MAILER.test(mailer))) return null;
  if (BOUNCE_SUBJECT.test(f.subject)) return found('bounce', `Subject: ${f.subject.slice(0, 60)}`);
  if (BOUNCE_BODY.test(f.body())) return found('bounce', 'delivery-failure wording from an automatic sender');
  if (postmaster && f.nullReturnPath) return found('bounce', 'From: postmaster with a null return path');
  return null;
}

function autoReply(f: Facts): Classification | null {
  if (f.autoSubmitted) return found('auto_reply', `Auto-Submitted: ${f.autoSubmitted}`);
  const header = AUTO_REPLY_HEADERS.find((name) => f.has(name));
  if (header) return found('auto_reply', `${header} header`);
  if (/vacation/i.test(f.first('x-apple-action') ?? '')) return found('auto_reply', 'X-Apple-Action: VACATION');
  if (AUTO_REPLY_MAILER.test(f.first('x-mailer') ?? '')) return found('auto_reply', `X-Mailer: ${f.first('x-mailer')!.slice(0, 40)}`);
  if (f.contentType === 'multipart/report' && f.reportType === 'disposition-notification') return found('auto_reply', 'read receipt (disposition-notification)');
  if (AUTO_REPLY_SUBJECT.test(f.subject)) return found('auto_reply', `Subject: ${f.subject.slice(0, 60)}`);
  // Exchange puts X-Auto-Response-Suppress on its auto-replies, but also on meeting responses
  // and some ordinary mail: like the weak subjects, it needs a second hint.
  const hints = [
    f.has('x-auto-response-suppress') && 'X-Auto-Response-Suppress',
    f.nullReturnPath && 'null return path',
    WEAK_AUTO_REPLY_SUBJECT.test(f.subject) && 'out-of-office subject',
  ].filter((x): x is string => !!x);
  return hints.length >= 2 ? found('auto_reply', hints.join(' + ')) : null;
}

function list(f: Facts): Classification | null {
  if (f.has('list-id')) return found('list', 'List-Id');
  // ezmlm and fml mark list traffic (and their own notices) this way instead of List-Id.
  const manager = ['mailing-list', 'x-mlserver'].find((name) => f.has(name));
  if (manager) return found('list', `${manager} header`);
  const precedence = f.first('precedence')?.trim().toLowerCase();
  if (f.has('list-unsubscribe') && (precedence === 'list' || precedence === 'bulk')) return found('list', `List-Unsubscribe with Precedence: ${precedence}`);
  if (precedence && /^(bulk|junk|list|auto_reply)$/.test(precedence)) return found('auto_reply', `Precedence: ${precedence}`);
  return null;
}

/**
 * Decides what a raw message is before it may become a case. Reads the header block and, where
 * a report has no standard report part, the first 64 KiB of the body. Pure and never throws.
 *
 * Order, and why:
 * 1. own: mail this service sent that came back (an alias loop). It carries Auto-Submitted, so it
 *    must be recognised before the generic checks, and it is the most specific answer.
 * 2. feedback_report: ARF reports come from postmaster/abuse addresses with a null return path,
 *    which would otherwise look like bounces.
 * 3. bounce: most DSNs also carry Auto-Submitted (Postfix: auto-replied), so the delivery-report
 *    evidence must win over it; and bounces carry work (mark the outbox row bounced).
 * 4. auto_reply: RFC 3834 Auto-Submitted, autoresponder headers, unambiguous subjects, read receipts.
 * 5. list: after auto_reply, because an autoresponder may answer through a list.
 * 6. a null return path with nothing else: only delivery software and autoresponders send with
 *    one (RFC 5321 4.5.5); without autoresponder hints a delivery report is the likelier.
 * 7. person.
 * Subject and body wording never decides alone: a customer may write "Undeliverable mail from
 * your system" or forward a bounce, and that must become a case.
 */
export function classify(raw: Buffer, opts: { supportDomain: string; supportAddress?: string }): Classification {
  const f = facts(raw);
  const domain = opts.supportDomain.trim().toLowerCase().replace(/^@/, '');
  // A Message-ID on our domain alone is not enough: Thunderbird writes <uuid@sender-domain>, so a
  // colleague on the support domain would look like us. Our automatic mail carries Auto-Submitted
  // and X-Auto-Response-Suppress; a staff reply (a person's mail) carries neither, but comes From
  // the support address itself (src/mail/compose.ts), which a colleague's mail does not.
  const fromUs = opts.supportAddress !== undefined && f.fromAddress === opts.supportAddress.trim().toLowerCase();
  if (domain && (f.first('message-id') ?? '').toLowerCase().includes(`@${domain}>`) && (f.autoSubmitted || f.has('x-auto-response-suppress') || fromUs)) {
    return found('own', `Message-ID on ${domain}`);
  }
  return (
    feedbackReport(f) ??
    bounce(f) ??
    autoReply(f) ??
    list(f) ??
    (f.nullReturnPath ? found('bounce', 'null return path') : found('person', 'no automatic-mail signal'))
  );
}
