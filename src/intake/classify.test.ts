import { classify, decodeHeader, parseContentType, parseFields, type MailClass } from './classify';

const SUPPORT = { supportDomain: 'support.example.com' };
const raw = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'), 'utf8');
const message = (headers: string, body = 'Hello,\nthe invoice is wrong.\n') => raw(`${headers.trim()}\n\n${body}`);
const classOf = (m: Buffer): MailClass => classify(m, SUPPORT).class;

const PERSON = 'From: Ann Customer <ann@customer.test>\nTo: support@support.example.com\nSubject: Invoice 42\nMessage-ID: <CAF1x@mail.customer.test>';

describe('classify: own mail', () => {
  it('recognises a message this service sent (Message-ID on our domain, Auto-Submitted)', () => {
    const m = message(`From: Support <support@support.example.com>\nMessage-ID: <0b6f5a3e-1c1d-4f63-9a52-8f4b2f9f2c11@support.example.com>\nAuto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\nSubject: Re: Invoice 42`);
    expect(classify(m, SUPPORT)).toEqual({ class: 'own', reason: 'Message-ID on support.example.com' });
    expect(classify(m, { supportDomain: 'SUPPORT.example.COM' }).class).toBe('own');
  });

  it('recognises a staff reply coming back (a person’s mail: no Auto-Submitted, From the support address)', () => {
    const m = message(`From: Support <Support@support.example.com>\nMessage-ID: <1c2d@support.example.com>\nSubject: Re: [CASE-000001] Invoice 42`);
    expect(classify(m, { ...SUPPORT, supportAddress: 'support@support.example.com' })).toEqual({ class: 'own', reason: 'Message-ID on support.example.com' });
    // Without the support address to compare, or from a colleague's own address, it is a person's.
    expect(classOf(m)).toBe('person');
    expect(classify(message(`From: Bob <bob@support.example.com>\nMessage-ID: <1c2d@support.example.com>\nSubject: Re: x`), { ...SUPPORT, supportAddress: 'support@support.example.com' }).class).toBe('person');
  });

  it('does not take a colleague on the support domain for us (Thunderbird writes <uuid@sender-domain>)', () => {
    const m = message(`From: Bob <bob@support.example.com>\nMessage-ID: <0b6f5a3e-1c1d-4f63-9a52-8f4b2f9f2c11@support.example.com>\nUser-Agent: Mozilla Thunderbird\nSubject: Customer escalation`);
    expect(classOf(m)).toBe('person');
  });

  it('does not match a domain that merely ends like ours', () => {
    const m = message(`From: x@evil.test\nMessage-ID: <a@notsupport.example.com>\nAuto-Submitted: auto-replied\nSubject: hi`);
    expect(classOf(m)).toBe('auto_reply');
  });
});

describe('classify: feedback reports', () => {
  it('recognises an RFC 5965 report', () => {
    const m = message('From: feedback@isp.test\nSubject: Abuse report\nContent-Type: multipart/report; report-type=feedback-report;\n boundary="b"', '--b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n--b--\n');
    expect(classify(m, SUPPORT)).toEqual({ class: 'feedback_report', reason: 'multipart/report; report-type=feedback-report' });
  });

  it('wins over the bounce signals an ARF report also has', () => {
    const m = message('Return-Path: <>\nFrom: postmaster@isp.test\nSubject: Undeliverable\nContent-Type: multipart/report; report-type="feedback-report"; boundary=b', '--b--\n');
    expect(classOf(m)).toBe('feedback_report');
  });
});

describe('classify: bounces', () => {
  it.each([
    ['an RFC 3464 report', 'From: postmaster@mx.test\nSubject: Delivery Status Notification\nContent-Type: multipart/report; report-type=delivery-status; boundary=b', 'multipart/report; report-type=delivery-status'],
    ['MAILER-DAEMON as sender', 'From: MAILER-DAEMON@mx.test (Mail Delivery System)\nSubject: whatever', 'From: MAILER-DAEMON'],
    ['MAILER-DAEMON as display name', 'From: MAILER-DAEMON <>\nSubject: Mail delivery failed', 'From: MAILER-DAEMON'],
    ['X-Failed-Recipients (Exim, Gmail)', 'From: Mail Delivery System <noc@mx.test>\nX-Failed-Recipients: a@b.test\nSubject: x', 'X-Failed-Recipients'],
    ['a bounce subject with a null return path', 'Return-Path: <>\nFrom: System Administrator <admin@mx.test>\nSubject: Undeliverable: Invoice 42', 'Subject: Undeliverable: Invoice 42'],
    ['a bounce subject from postmaster', 'From: "Postmaster" <postmaster@mx.test>\nX-Mailer: <SMTP32 v8.12>\nSubject: Undeliverable Mail', 'Subject: Undeliverable Mail'],
    ['an encoded Japanese bounce subject from no-reply', 'From: no-reply@mx.test\nSubject: =?UTF-8?B?44Oh44O844Or44Ko44Op44O86YCa55+l?=', 'Subject: メールエラー通知'],
  ])('recognises %s', (_what, headers, reason) => {
    expect(classify(message(headers), SUPPORT)).toEqual({ class: 'bounce', reason });
  });

  it("recognises qmail's wording from an automatic sender", () => {
    const m = message('Return-Path: <>\nFrom: admin@mx.test\nSubject: failure', 'Hi. This is the qmail-send program at mx.test.\n<a@b.test>:\nSorry, no mailbox here by that name. (#5.1.1)\n');
    expect(classify(m, SUPPORT)).toEqual({ class: 'bounce', reason: 'delivery-failure wording from an automatic sender' });
  });

  it('takes a bounce with Auto-Submitted (as Postfix writes it) as a bounce, not an auto-reply', () => {
    const m = message('From: MAILER-DAEMON@mx.test\nAuto-Submitted: auto-replied\nSubject: Undelivered Mail Returned to Sender\nContent-Type: multipart/report; report-type=delivery-status; boundary=b');
    expect(classOf(m)).toBe('bounce');
  });

  it('takes a null return path with no other signal as a bounce', () => {
    expect(classify(message('Return-Path: <>\nFrom: robot@mx.test\nSubject: note'), SUPPORT)).toEqual({ class: 'bounce', reason: 'null return path' });
  });

  describe('false-positive traps (mail from a person)', () => {
    it('a customer writing about undeliverable mail', () => {
      expect(classOf(message(`${PERSON.replace('Invoice 42', 'Undeliverable mail from your system')}`, 'Your mails bounce: 550 5.1.1 user unknown.\n'))).toBe('person');
    });

    it('a customer forwarding a bounce they got', () => {
      const m = message('From: Ann <ann@customer.test>\nSubject: Fwd: Returned mail: see transcript for details\nUser-Agent: Apple Mail', 'Begin forwarded message:\n> From: Mail Delivery Subsystem <MAILER-DAEMON>\n> ----- The following addresses had permanent fatal errors -----\n');
      expect(classOf(m)).toBe('person');
    });

    it('a person attaching an original message (is-not-bounce-02)', () => {
      const m = message('From: a@customer.test\nSubject: original as attachment\nContent-Type: multipart/mixed; boundary=b', '--b\nContent-Type: message/rfc822\n\nFrom: x@y.test\nSubject: Delivery Status Notification (Failure)\n\nhi\n--b--\n');
      expect(classOf(m)).toBe('person');
    });

    it('a postmaster writing from a mail client', () => {
      const m = message('From: postmaster@customer.test\nUser-Agent: Mozilla Thunderbird\nSubject: Delivery failure of your mails to us', 'We reject your mail with 550 5.7.1, please fix your SPF record.\n');
      expect(classOf(m)).toBe('person');
    });

    it('a message whose body mentions MAILER-DAEMON', () => {
      expect(classOf(message(PERSON, 'I got a mail from MAILER-DAEMON saying Delivery Status Notification (Failure).\n'))).toBe('person');
    });
  });
});

describe('classify: automatic replies', () => {
  it.each([
    ['Auto-Submitted: auto-replied', 'Auto-Submitted: auto-replied', 'Auto-Submitted: auto-replied'],
    ['Auto-Submitted with a comment', 'Auto-Submitted: auto-generated (vacation)', 'Auto-Submitted: auto-generated'],
    ['X-Autoreply', 'X-Autoreply: yes', 'x-autoreply header'],
    ['X-Autorespond', 'X-Autorespond: 1', 'x-autorespond header'],
    ['X-Autoresponder', 'X-Autoresponder: true', 'x-autoresponder header'],
    ['Precedence: bulk', 'Precedence: bulk', 'Precedence: bulk'],
    ['Precedence: junk', 'Precedence: junk', 'Precedence: junk'],
    ['Precedence: auto_reply', 'Precedence: auto_reply', 'Precedence: auto_reply'],
    ['an autoresponder X-Mailer', 'X-Mailer: Vacation 1.2', 'X-Mailer: Vacation 1.2'],
    ["Apple's vacation header", 'X-Apple-Action: VACATION', 'X-Apple-Action: VACATION'],
  ])('recognises %s', (_what, header, reason) => {
    expect(classify(message(`${PERSON}\n${header}`), SUPPORT)).toEqual({ class: 'auto_reply', reason });
  });

  it.each([['Automatic reply: Invoice 42'], ['Out of Office: Invoice 42'], ['Abwesenheitsnotiz: Rechnung'], ['Réponse automatique : Facture'], ['=?UTF-8?B?6Ieq5YuV6L+U5L+hOiDoq4vmsYLmm7g=?=']])(
    'recognises the unambiguous subject %s',
    (subject) => {
      expect(classOf(message(`From: a@customer.test\nSubject: ${subject}`))).toBe('auto_reply');
    },
  );

  it('takes an auto-reply with a null return path (RFC 3834 asks for one) as an auto-reply', () => {
    const m = message('Return-Path: <>\nFrom: a@customer.test\nSubject: Automatic reply: Invoice 42\nX-Auto-Response-Suppress: All');
    expect(classOf(m)).toBe('auto_reply');
    expect(classOf(message('Return-Path: <>\nFrom: a@customer.test\nSubject: Away until May 5\nAuto-Submitted: auto-replied'))).toBe('auto_reply');
  });

  it('takes weak hints only in pairs', () => {
    expect(classOf(message('From: a@customer.test\nSubject: Out of office until Monday'))).toBe('person');
    expect(classOf(message('From: a@customer.test\nSubject: Invoice\nX-Auto-Response-Suppress: All'))).toBe('person');
    expect(classify(message('From: a@customer.test\nSubject: Out of office until Monday\nX-Auto-Response-Suppress: All'), SUPPORT)).toEqual({
      class: 'auto_reply',
      reason: 'X-Auto-Response-Suppress + out-of-office subject',
    });
  });

  it('recognises a read receipt', () => {
    expect(classOf(message('From: a@customer.test\nSubject: Read: Invoice 42\nContent-Type: multipart/report; report-type=disposition-notification; boundary=b'))).toBe('auto_reply');
  });

  it('leaves a person alone: Auto-Submitted: no, a reply to an auto-reply, a car', () => {
    expect(classOf(message(`${PERSON}\nAuto-Submitted: no`))).toBe('person');
    expect(classOf(message('From: a@customer.test\nSubject: Re: Automatic reply: Invoice 42'))).toBe('person');
    expect(classOf(message('From: a@customer.test\nSubject: Auto: new tyres'))).toBe('person');
  });
});

describe('classify: lists and people', () => {
  it('recognises list mail', () => {
    expect(classify(message(`${PERSON}\nList-Id: <users.lists.test>`), SUPPORT)).toEqual({ class: 'list', reason: 'List-Id' });
    expect(classOf(message(`${PERSON}\nList-Unsubscribe: <mailto:u@lists.test>\nPrecedence: list`))).toBe('list');
  });

  it('takes List-Unsubscribe alone as a person (transactional mail carries it too)', () => {
    expect(classOf(message(`${PERSON}\nList-Unsubscribe: <mailto:u@lists.test>`))).toBe('person');
  });

  it('takes ordinary mail as a person, and never throws on junk', () => {
    expect(classify(message(PERSON), SUPPORT)).toEqual({ class: 'person', reason: 'no automatic-mail signal' });
    for (const junk of ['', '\0\0', 'no header block at all', 'From MAILER-DAEMON Sat Oct  4 08:00:09 2025\nSubject: x\n\nbody', 'Content-Type: multipart/report; report-type=\n\n']) {
      expect(() => classify(Buffer.from(junk), SUPPORT)).not.toThrow();
    }
  });

  it('does not read an mbox "From " line as a From header', () => {
    expect(classOf(raw('From MAILER-DAEMON  Sat Oct  4 08:00:09 2025\nFrom: a@customer.test\nSubject: hi\n\nbody\n'))).toBe('person');
  });
});

describe('decodeHeader', () => {
  it('decodes encoded words, adjacent ones joined, and raw UTF-8', () => {
    expect(decodeHeader('=?ISO-8859-1?Q?R=E9ponse_automatique?= =?UTF-8?B?IDo=?= x')).toBe('Réponse automatique : x');
    expect(decodeHeader(Buffer.from('自動返信: x', 'utf8').toString('latin1'))).toBe('自動返信: x');
    expect(decodeHeader('=?unknown-charset?Q?abc?=')).toBe('abc');
  });
});

describe('parseContentType', () => {
  it('reads parameters, quoted ones with escapes, and names in any case', () => {
    const { type, params } = parseContentType('Multipart/Report; Report-Type=delivery-status; boundary="a\\"b;c"; x=1');
    expect(type).toBe('multipart/report');
    expect(Object.fromEntries(params)).toEqual({ 'report-type': 'delivery-status', boundary: 'a\\"b;c', x: '1' });
  });

  it('takes an unclosed quoted value to the end instead of rescanning it', () => {
    expect(parseContentType('text/plain; charset="utf-8').params.get('charset')).toBe('utf-8');
  });
});

describe('parseFields', () => {
  it('keeps every value of a repeated field, topmost first', () => {
    expect(parseFields('Received: a\r\nX: 1\r\nReceived: b\r\n c').get('received')).toEqual(['a', 'b c']);
  });
});
