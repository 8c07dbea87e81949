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
  it('uses the Message-ID when there is one, the hash otherwise', () => {
    expect(dedupeKey('a@b', 'ff')).toBe('mid:a@b');
    expect(dedupeKey(null, 'ff')).toBe('sha256:ff');
  });
});
