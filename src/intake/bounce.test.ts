import { parseBounce } from './bounce';

const raw = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'), 'utf8');
const OURS = '0b6f5a3e-1c1d-4f63-9a52-8f4b2f9f2c11@support.example.com';

const dsn = (statusPart: string, returned = `Message-ID: <${OURS}>\nFrom: Support <support@support.example.com>\nTo: ann@customer.test\nSubject: Re: Invoice 42\n\nbody\n`) =>
  raw(`From: MAILER-DAEMON@mx.test (Mail Delivery System)
Message-Id: <20240101.ABC@mx.test>
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B1/mx.test"

This is a MIME-encapsulated message.

--B1/mx.test
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.test.

--B1/mx.test
Content-Type: message/delivery-status

${statusPart}
--B1/mx.test
Content-Type: message/rfc822

${returned}
--B1/mx.test--
`);

describe('parseBounce: RFC 3464 reports', () => {
  it('reads the recipient, status, action and diagnostic, and the returned message id', () => {
    const report = parseBounce(
      dsn(`Reporting-MTA: dns; mx.test

Final-Recipient: rfc822; ann@customer.test
Original-Recipient: rfc822;ann@customer.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <ann@customer.test>: Recipient address
    rejected: User unknown
`),
    );
    expect(report).toEqual({
      originalMessageIds: [OURS],
      recipients: [{ address: 'ann@customer.test', status: '5.1.1', action: 'failed', diagnostic: '550 5.1.1 <ann@customer.test>: Recipient address rejected: User unknown' }],
    });
  });

  it('separates several recipients, with or without blank lines, and prefers the original address', () => {
    const report = parseBounce(
      dsn(`Reporting-MTA: dns; mx.test

Final-Recipient: rfc822; r@pool.customer.test
Original-Recipient: rfc822;ann@customer.test
Action: failed
Status: 5.2.2
Final-Recipient: RFC822; <bob@customer.test>
Action: delayed
Status: 4.4.1 (connection timed out)
`),
    );
    expect(report.recipients).toEqual([
      { address: 'ann@customer.test', status: '5.2.2', action: 'failed', diagnostic: null },
      { address: 'bob@customer.test', status: '4.4.1', action: 'delayed', diagnostic: null },
    ]);
  });

  it('reads a text/rfc822-headers part and a base64 status part', () => {
    const m = raw(`From: postmaster@mx.test
Content-Type: multipart/report; report-type=delivery-status; boundary=b

--b
Content-Type: message/delivery-status
Content-Transfer-Encoding: base64

${Buffer.from('Reporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822;ann@customer.test\r\nAction: failed\r\nStatus: 5.7.1\r\n').toString('base64')}
--b
Content-Type: text/rfc822-headers

Message-ID: <${OURS}>
Subject: hi
--b--
`);
    expect(parseBounce(m)).toEqual({ originalMessageIds: [OURS], recipients: [{ address: 'ann@customer.test', status: '5.7.1', action: 'failed', diagnostic: null }] });
  });

  it('finds the parts when the declared boundary is not the one used', () => {
    const m = raw(`From: MAILER-DAEMON@mx.test
Content-Type: multipart/report; report-type=delivery-status; boundary="declared"

--used
Content-Type: message/delivery-status

Final-Recipient: rfc822; ann@customer.test
Action: failed
Status: 5.0.0
--used--
`);
    expect(parseBounce(m).recipients.map((r) => r.address)).toEqual(['ann@customer.test']);
  });
});

describe('parseBounce: reports that do not follow RFC 3464', () => {
  it('reads Exim: X-Failed-Recipients, the reason below the address, the id from the copy', () => {
    const m = raw(`From: Mail Delivery System <Mailer-Daemon@mx.test>
X-Failed-Recipients: ann@customer.test
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  ann@customer.test
    SMTP error from remote mail server after RCPT TO:<ann@customer.test>:
    550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

Message-Id: <${OURS}>
From: Support <support@support.example.com>
To: ann@customer.test
`);
    expect(parseBounce(m)).toEqual({
      originalMessageIds: [OURS],
      recipients: [{ address: 'ann@customer.test', status: '5.1.1', action: 'failed', diagnostic: 'SMTP error from remote mail server after RCPT TO:<ann@customer.test>: 550 5.1.1 User unknown' }],
    });
  });

  it('reads qmail "<addr>:" lines and stops at the copy of the message', () => {
    const m = raw(`From: MAILER-DAEMON@mx.test
Subject: failure notice

Hi. This is the qmail-send program at mx.test.
I'm afraid I wasn't able to deliver your message to the following addresses.

<ann@customer.test>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

To: carl@customer.test
Message-ID: <${OURS}>
`);
    const report = parseBounce(m);
    expect(report.recipients.map((r) => r.address)).toEqual(['ann@customer.test']);
    expect(report.originalMessageIds).toEqual([OURS]);
  });

  it('falls back to any address in the report text, but not the sender nor a contact address', () => {
    const m = raw(`From: postmaster@mx.test
To: support@support.example.com
Subject: Undeliverable Mail
In-Reply-To: <${OURS}>

There was an error delivering your mail to <ann@customer.test>, mailbox full.
For assistance contact helpdesk@mx.test.
Your message from support@support.example.com was not sent.
`);
    expect(parseBounce(m)).toEqual({
      originalMessageIds: [OURS],
      recipients: [{ address: 'ann@customer.test', status: null, action: null, diagnostic: 'There was an error delivering your mail to <ann@customer.test>, mailbox full.' }],
    });
  });

  it('reads an Amazon SES notification (JSON in an SNS envelope, lines folded)', () => {
    const inner = JSON.stringify({
      notificationType: 'Bounce',
      bounce: { bouncedRecipients: [{ emailAddress: 'ann@customer.test', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }] },
      mail: { headers: [{ name: 'Message-ID', value: `<${OURS}>` }] },
    });
    const body = JSON.stringify({ Type: 'Notification', Message: inner }, null, 2);
    const folded = body.replace(/(.{70})/g, '$1\n ');
    const report = parseBounce(raw(`From: SES <no-reply@sns.amazonaws.com>\nSubject: AWS Notification Message\n\n${folded}\n`));
    expect(report).toEqual({
      originalMessageIds: [OURS],
      recipients: [{ address: 'ann@customer.test', status: '5.1.1', action: 'failed', diagnostic: 'smtp; 550 5.1.1 user unknown' }],
    });
  });

  it('reads a report that wraps another report', () => {
    const inner = dsn('Final-Recipient: rfc822; ann@customer.test\nAction: failed\nStatus: 5.1.1\n').toString('utf8');
    const m = raw(`From: gateway@mx.test\nSubject: Returned mail\nContent-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: text/plain\n\nThe following addresses had permanent delivery errors\n\n--outer\nContent-Type: message/rfc822\n\n${inner.replace(/\r\n/g, '\n')}\n--outer--\n`);
    const report = parseBounce(m);
    expect(report.recipients.map((r) => [r.address, r.status])).toEqual([['ann@customer.test', '5.1.1']]);
    expect(report.originalMessageIds).toContain(OURS);
  });
});

describe('parseBounce: robustness', () => {
  it('never throws and gives empty lists for what it cannot read', () => {
    const empty = { originalMessageIds: [], recipients: [] };
    expect(parseBounce(Buffer.alloc(0))).toEqual(empty);
    expect(parseBounce(Buffer.from([0, 255, 0, 13, 10, 13, 10, 254]))).toEqual(empty);
    expect(parseBounce(raw('Content-Type: multipart/report; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n'))).toEqual(empty);
    expect(parseBounce(raw('Content-Type: multipart/mixed\n\n--b\n--b\n--b--\n'))).toEqual(empty);
  });

  it('stays fast on hostile input', () => {
    const started = Date.now();
    parseBounce(raw(`From: a@b.test\nContent-Type: text/html\n\n${'<'.repeat(300_000)}`));
    parseBounce(raw(`From: MAILER-DAEMON@b.test\nTo: ${'a'.repeat(300_000)}\n\n${'a@'.repeat(300_000)}`));
    parseBounce(raw(`From: a@b.test\nContent-Type: multipart/mixed; boundary=b\n\n${'--b\nContent-Type: multipart/mixed; boundary=b\n\n'.repeat(10_000)}`));
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
