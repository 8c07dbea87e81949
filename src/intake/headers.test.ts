import { dedupeKey, headerValue, normaliseMessageId } from './headers';

const raw = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'));

describe('headerValue', () => {
  it('reads a folded header case-insensitively and stops at the body', () => {
    const msg = raw('Subject: a\nmessage-id:\n <abc@x.test>\nFrom: b@x.test\n\nMessage-ID: <body@x.test>\n');
    expect(headerValue(msg, 'Message-ID')).toBe('<abc@x.test>');
    expect(headerValue(msg, 'X-Missing')).toBeNull();
  });

  it('does not read headers from the body', () => {
    expect(headerValue(raw('From: a@x.test\n\nMessage-ID: <body@x.test>\n'), 'message-id')).toBeNull();
  });
});

describe('normaliseMessageId', () => {
  it('strips brackets and ignores trailing comments', () => {
    expect(normaliseMessageId('<abc@x.test> (added by relay)')).toBe('abc@x.test');
    expect(normaliseMessageId('  bare@x.test ')).toBe('bare@x.test');
    expect(normaliseMessageId('')).toBeNull();
    expect(normaliseMessageId(null)).toBeNull();
  });
});

describe('dedupeKey', () => {
  const message = raw('Message-ID: <a@b>\nSubject: s\n\nbody\n');
  it('is the same for a second delivery that only gained trace headers', () => {
    const relayed = Buffer.concat([raw('Received: by relay.test\nDelivered-To: x@y.test\n'), message]);
    expect(dedupeKey(relayed, 'a@b')).toBe(dedupeKey(message, 'a@b'));
    expect(dedupeKey(message, 'a@b')).toMatch(/^mid:a@b:[0-9a-f]{32}$/);
  });

  it('differs for two messages that share a Message-ID but not a body', () => {
    expect(dedupeKey(raw('Message-ID: <a@b>\n\nother body\n'), 'a@b')).not.toBe(dedupeKey(message, 'a@b'));
  });

  it('falls back to the whole message hash without a Message-ID', () => {
    expect(dedupeKey(message, null)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
