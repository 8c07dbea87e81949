import { OutboxSealer, placeholder, revealRow, withPlaceholders } from './sealed-secrets';
import { secretsOf } from './kinds';

const SECRET = 'a-link-secret-of-at-least-32-characters';
const OLD = 'the-previous-link-secret-32-characters!';

describe('sealed secrets of an outbox row', () => {
  const token = '1.2.abc.defghijklmnopqrstuvwxyz2';
  const props = { approver: { email: 'bob@acme.test' }, links: { token, page: `https://x.test/approvals/${token}`, replyAddress: `support+approve-${token}@x.test`, expiresAt: 'soon' }, case: { excerpt: 'hello' } };

  it('finds the secret props by name, anywhere', () => {
    expect(secretsOf(props)).toEqual([token]);
    expect(secretsOf({ recipient: { email: 'a@b.test' }, link: 'https://x.test/portal/login/abc' })).toEqual(['https://x.test/portal/login/abc']);
    expect(secretsOf({ case: { subject: 'no secrets' } })).toEqual([]);
  });

  it('replaces each secret by its placeholder and puts it back, HTML-escaped in the HTML', () => {
    const secrets = { nonce: 'n1', values: ['https://x.test/portal/login/a=b'] };
    const hidden = withPlaceholders({ link: secrets.values[0], other: 'x' }, secrets);
    expect(hidden).toEqual({ link: placeholder('n1', 0), other: 'x' });
    const sealer = new OutboxSealer([SECRET]);
    const row = { subject: 's', text: `go ${placeholder('n1', 0)}`, html: `<a href="${placeholder('n1', 0)}">`, reply_to: null, sealed_secrets: sealer.seal(secrets) };
    const shown = revealRow(sealer, row);
    expect(shown.text).toBe('go https://x.test/portal/login/a=b');
    expect(shown.html).toBe('<a href="https://x.test/portal/login/a&#x3D;b">');
    expect(row.text).toContain('[[secret:n1:0]]');
  });

  it('opens what the previous secret sealed during a rotation, and nothing altered or under another secret', () => {
    const sealed = new OutboxSealer([OLD]).seal({ nonce: 'n', values: ['v'] });
    expect(new OutboxSealer([SECRET, OLD]).open(sealed)).toEqual({ nonce: 'n', values: ['v'] });
    expect(() => new OutboxSealer([SECRET]).open(sealed)).toThrow(/cannot be opened/);
    const altered = Buffer.from(sealed);
    altered[altered.length - 1]! ^= 1;
    expect(() => new OutboxSealer([OLD]).open(altered)).toThrow(/cannot be opened/);
  });

  it('stores nothing of the value: the sealed bytes do not contain it', () => {
    const sealed = new OutboxSealer([SECRET]).seal({ nonce: 'n', values: [token] });
    expect(sealed.toString('latin1')).not.toContain(token);
  });
});
