import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

/** Where browser tests leave their screenshots (ARTIFACTS_DIR, else ./artifacts/screenshots). */
export const SCREENSHOT_DIR = process.env.ARTIFACTS_DIR ? join(process.env.ARTIFACTS_DIR, 'screenshots') : join(__dirname, '../../artifacts/screenshots');

/** A full-page screenshot named after what it shows, for people to look at after the run. */
export async function snap(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
