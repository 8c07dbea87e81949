import type { Page } from 'playwright-core';
import { eventually } from './env';
import { linkIn, type TestService } from './service';
import { csrfIn, WebClient } from './staff';

/** Signs `email` in to the portal the way a customer does: ask, take the link from the mail, press Sign in. */
export async function portalClient(t: TestService, email: string): Promise<WebClient> {
  const client = new WebClient(t.base);
  const before = t.sink.to(email).length;
  const form = await client.get('/portal/login');
  await client.post('/portal/login', { _csrf: csrfIn(form.text), email });
  const mail = await eventually(async () => t.sink.to(email).slice(before).find((m) => /sign-in link/i.test(m.parsed.subject ?? '')), 15000, `a sign-in link for ${email}`);
  const path = new URL(linkIn(String(mail.parsed.html), `${t.base}/portal/login/`)).pathname;
  const page = await client.get(path);
  const res = await client.post(path, { _csrf: csrfIn(page.text) });
  if (res.status !== 303) throw new Error(`portal sign-in for ${email} failed: ${res.status}`);
  return client;
}

/** Signs `page` in to the portal as `email` through the forms, the link taken from the captured mail. */
export async function signInToPortal(page: Page, t: TestService, email: string): Promise<void> {
  const before = t.sink.to(email).length;
  await page.goto(`${t.base}/portal/login`);
  await page.getByLabel('Your email address').fill(email);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Email me a sign-in link' }).click()]);
  const mail = await eventually(async () => t.sink.to(email).slice(before).find((m) => /sign-in link/i.test(m.parsed.subject ?? '')));
  await page.goto(linkIn(String(mail.parsed.html), `${t.base}/portal/login/`));
  await Promise.all([page.waitForURL(`${t.base}/portal`), page.getByRole('button', { name: 'Sign in' }).click()]);
}
