import { MailRenderer, TEMPLATES_DIR } from './templates';
import { formatDate, useDisplayTimeZone } from '../dates';

const view = { reference: 'CASE-000123', subject: 'Backups fail', excerpt: 'It broke.', requesterEmail: 'dave@acme.test', requesterName: 'Dave', receivedAt: '23 Nov 2026, 08:00 UTC' };

describe('the vendor at the head of every mail', () => {
  it('names the vendor, escaped, with its logo in HTML and its name in text (the layouts, so every kind)', async () => {
    const renderer = await MailRenderer.load(TEMPLATES_DIR, { name: 'Acme <Hosting> & Co', logoUrl: 'https://cdn.example.test/logo.png?a=1&b="2"' });
    const mail = renderer.render('acknowledgement', { case: view, infrastructure: null });
    expect(mail.html).toContain('<img src="https://cdn.example.test/logo.png?a&#x3D;1&amp;b&#x3D;&quot;2&quot;" alt="" height="32"');
    expect(mail.html).toContain('<span style="vertical-align:middle;">Acme &lt;Hosting&gt; &amp; Co</span>');
    expect(mail.html).not.toContain('<Hosting>');
    expect(mail.text.trimEnd().split('\n').pop()).toBe('Acme <Hosting> & Co');
  });

  it('shows no image without a logo, and "Support" by default', async () => {
    const mail = (await MailRenderer.load()).render('acknowledgement', { case: view, infrastructure: null });
    expect(mail.html).not.toContain('<img');
    expect(mail.html).toContain('>Support</span>');
    expect(mail.text.trimEnd().split('\n').pop()).toBe('Support');
  });
});

describe('times in mails', () => {
  afterEach(() => useDisplayTimeZone(null));

  it('are UTC, named, with the year, unless DISPLAY_TIME_ZONE says otherwise', () => {
    const at = new Date('2026-11-30T08:00:00Z');
    expect(formatDate(at)).toBe('30 Nov 2026, 08:00 UTC');
    useDisplayTimeZone('Australia/Sydney');
    expect(formatDate(at)).toBe('30 Nov 2026, 19:00 GMT+11');
  });
});
