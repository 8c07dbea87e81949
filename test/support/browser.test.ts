import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, withPage } from './browser';

const FORM_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Intake</title></head>
<body>
  <h1>Open a support case</h1>
  <form method="post" action="/cases">
    <label>Subject <input name="subject" value=""></label>
    <button type="submit">Submit case</button>
  </form>
</body></html>`;

const THANKS_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Thanks</title></head>
<body><h1>Case received</h1></body></html>`;

interface ReceivedPost {
  url: string;
  contentType: string | undefined;
  body: string;
}

function startServer(posts: ReceivedPost[]): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(FORM_PAGE);
      return;
    }
    if (req.method === 'POST' && req.url === '/cases') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        posts.push({ url: req.url!, contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(THANKS_PAGE);
      });
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('browser support (Debian Chromium via playwright-core)', () => {
  let server: http.Server;
  let baseUrl: string;
  let browser: Browser | undefined;
  let tmp: string;
  const posts: ReceivedPost[] = [];

  beforeAll(async () => {
    server = await startServer(posts);
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tmp = await mkdtemp(join(tmpdir(), 'browser-test-'));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(tmp, { recursive: true, force: true });
  });

  it('loads a page, submits its form and takes a screenshot', async () => {
    const shot = join(tmp, 'thanks.png');
    await withPage(async (page) => {
      await page.goto(`${baseUrl}/`);
      expect(await page.locator('h1').textContent()).toBe('Open a support case');

      await page.getByLabel('Subject').fill('Printer on fire');
      await Promise.all([page.waitForURL(`${baseUrl}/cases`), page.getByRole('button', { name: 'Submit case' }).click()]);
      expect(await page.locator('h1').textContent()).toBe('Case received');

      await page.screenshot({ path: shot });
    }, browser);

    expect(posts).toEqual([
      { url: '/cases', contentType: 'application/x-www-form-urlencoded', body: 'subject=Printer+on+fire' },
    ]);

    const png = await readFile(shot);
    expect(png.length).toBeGreaterThan(100);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it('launches and closes its own browser when none is given', async () => {
    const title = await withPage(async (page) => {
      await page.goto(`${baseUrl}/`);
      return page.title();
    });
    expect(title).toBe('Intake');
  });

  it('explains how to install Chromium when the binary is missing', async () => {
    const saved = process.env.CHROMIUM_PATH;
    process.env.CHROMIUM_PATH = join(tmp, 'no-such-chromium');
    try {
      await expect(launchBrowser()).rejects.toThrow(/bash scripts\/ensure-chromium\.sh/);
    } finally {
      if (saved === undefined) delete process.env.CHROMIUM_PATH;
      else process.env.CHROMIUM_PATH = saved;
    }
  });
});
