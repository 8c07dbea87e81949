import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { SHARED_DIR } from '../../test/support/shared';
import { parseMessage } from './parse';

const message = (headers: string[], body: string) => Buffer.from([...headers, '', body, ''].join('\r\n'));
const HEAD = ['From: Dana <dana@acme.test>', 'To: support@support.example.com', 'Subject: Backup fails', 'Message-ID: <m1@acme.test>', 'MIME-Version: 1.0'];
const LOGO = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

// HTML-only messages as these mailers send them.
const MAILERS: Array<[string, Buffer]> = [
  [
    'Outlook / Exchange Online: HTML in multipart/related with an inline logo, quoted-printable',
    message(
      [...HEAD, 'Content-Type: multipart/related; boundary="rel"; type="text/html"'],
      [
        '--rel',
        'Content-Type: text/html; charset="utf-8"',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        '<html><head><style>P {margin:0}</style></head><body><div class=3D"elementToProof">The nightly backup of db-02 fails wi=',
        'th &quot;disk quota exceeded&quot;.</div><div>Gr=C3=BC=C3=9Fe, Dana</div><div id=3D"Signature"><img src=3D"cid:logo@01"></div></body></html>',
        '--rel',
        'Content-Type: image/png; name="image001.png"',
        'Content-ID: <logo@01>',
        'Content-Disposition: inline; filename="image001.png"',
        'Content-Transfer-Encoding: base64',
        '',
        LOGO,
        '--rel--',
      ].join('\r\n'),
    ),
  ],
  [
    'Gmail: an empty text/plain alternative beside the HTML',
    message(
      [...HEAD, 'Content-Type: multipart/alternative; boundary="alt"'],
      ['--alt', 'Content-Type: text/plain; charset="UTF-8"', '', ' ', '', '--alt', 'Content-Type: text/html; charset="UTF-8"', '', '<div dir="ltr">The nightly backup of db-02 fails with "disk quota exceeded".<div>Grüße, Dana</div></div>', '--alt--'].join('\r\n'),
    ),
  ],
  [
    'Apple Mail: HTML in multipart/related with an image, base64',
    message(
      [...HEAD, 'Content-Type: multipart/related; boundary="apple"'],
      [
        '--apple',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('<html><body dir="auto"><div>The nightly backup of db-02 fails with "disk quota exceeded".</div><div>Grüße, Dana</div><img src="cid:shot"></body></html>').toString('base64'),
        '--apple',
        'Content-Type: image/png',
        'Content-ID: <shot>',
        'Content-Transfer-Encoding: base64',
        '',
        LOGO,
        '--apple--',
      ].join('\r\n'),
    ),
  ],
  [
    'Thunderbird: text/html alone',
    message(
      [...HEAD, 'Content-Type: text/html; charset=UTF-8', 'Content-Transfer-Encoding: 8bit'],
      '<html><head><meta http-equiv="content-type" content="text/html; charset=UTF-8"></head><body><p>The nightly backup of db-02 fails with "disk quota exceeded".</p><p>Grüße, Dana</p></body></html>',
    ),
  ],
];

describe('parseMessage: the text a person sees', () => {
  it.each(MAILERS)('%s', async (_mailer, raw) => {
    const parsed = await parseMessage(raw);
    // Paragraphs (<p>) keep a blank line between them, blocks (<div>) a line break.
    expect(parsed.text.replace(/\n+/g, '\n')).toBe('The nightly backup of db-02 fails with "disk quota exceeded".\nGrüße, Dana');
    expect(parsed.html).toContain('disk quota exceeded');
    expect(parsed.html).toMatch(/<(div|p)\b/);
  });

  it('keeps a text/plain part as it is, beside any HTML', async () => {
    const raw = message([...HEAD, 'Content-Type: multipart/alternative; boundary="alt"'], ['--alt', 'Content-Type: text/plain', '', 'Plain words', '--alt', 'Content-Type: text/html', '', '<p>HTML words</p>', '--alt--'].join('\r\n'));
    expect((await parseMessage(raw)).text).toBe('Plain words');
  });
});

/** ../shared/corpus's messages, each with its text as mailparser alone gave it before. */
function emlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? emlFiles(path) : name.endsWith('.eml') ? [path] : [];
  });
}

describe('parseMessage on the shared corpus', () => {
  it('leaves no message that had text before without it, and gives HTML-only ones theirs', async () => {
    const lost: string[] = [];
    let gained = 0;
    for (const file of emlFiles(join(SHARED_DIR, 'corpus'))) {
      const raw = readFileSync(file);
      const before = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true }).catch(() => null);
      const after = await parseMessage(raw).catch(() => null);
      if (!before || !after) continue;
      const had = /\S/.test(before.text ?? '');
      if (had && !/\S/.test(after.text)) lost.push(file);
      if (!had && /\S/.test(after.text)) gained++;
    }
    expect(lost).toEqual([]);
    console.log(`corpus: ${gained} messages without text before have their HTML's text now`);
  }, 60000);
});
