import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (scripts/ensure-chromium.sh installs it); Playwright's own download is not used. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

const CHROMIUM_ARGS = [
  // Tests run as root, where Chromium refuses to start with its sandbox.
  '--no-sandbox',
  '--disable-gpu',
  // Background fetches (updates, sync, field trials...) would hit this machine's closed network.
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Containers often have a tiny /dev/shm; use /tmp instead.
  '--disable-dev-shm-usage',
];

/** A headless Chromium; the caller closes it (`await browser.close()`). */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  try {
    accessSync(executablePath, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium not found (or not executable) at ${executablePath}: run \`bash scripts/ensure-chromium.sh\`` +
        ' (or point CHROMIUM_PATH at a Chromium binary).',
    );
  }
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Runs `fn` with a page in a fresh browser context and always closes the context afterwards.
 * Uses `browser` when given (left open for the caller); otherwise launches one and closes it too.
 */
export async function withPage<T>(fn: (page: Page) => Promise<T>, browser?: Browser): Promise<T> {
  const owned = browser === undefined;
  const b = browser ?? (await launchBrowser());
  try {
    const context = await b.newContext();
    try {
      const page = await context.newPage();
      return await fn(page);
    } finally {
      await context.close();
    }
  } finally {
    if (owned) await b.close();
  }
}

/** A page of its own context at `viewport`, failing a step after 10 s rather than at the test's timeout. */
export async function openPage(browser: Browser, viewport: { width: number; height: number }): Promise<Page> {
  const page = await (await browser.newContext({ viewport })).newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

/** How wide the page's content is: more than the viewport means it scrolls sideways. */
export function scrollWidth(page: Page): Promise<number> {
  return page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
}

/** A 1280 px context signed in as `email` through the real sign-in form, its page on `next`. */
export async function signedInPage(browser: Browser, base: string, email: string, password: string, next: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(`${base}${next}`), page.getByRole('button', { name: 'Sign in' }).click()]);
  return { context, page };
}
