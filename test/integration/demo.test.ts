import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ROOT } from '../support/cli';
import { deleteRedisPrefix, eventually, TEST_PG, uniqueName, within } from '../support/env';
import { freePort } from '../support/smtp-sink';
import { WebClient } from '../support/staff';

/**
 * `npm run demo` as a newcomer runs it, twice in a row, each time stopped by a signal to npm:
 * each run has an approval request to click (a fresh database per run, not the previous run's
 * leftovers), and stopping npm stops everything it started. On ports, a database and a Redis
 * prefix of its own, so it runs beside the other tests and a developer's own demo.
 */

const DEMO_STAFF = { email: 'demo@support.example.com', password: 'demo-password-change-me' };

interface DemoRun {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const database = uniqueName('ci_demo');
const queuePrefix = uniqueName('ci-demo');
let logDir = '';
let running: DemoRun | undefined;

function startDemo(env: Record<string, string>): DemoRun {
  // Its own process group, so the test can see afterwards whether anything of it is left.
  const npm = spawn('npm', ['run', 'demo'], { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  npm.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  npm.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
  return { npm, output: () => output, exited };
}

/** Whether the process is there; with a negative pid, whether any process of that group is. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** The link of the approval request for Dave's held case, from the captured mail, as staff see it. */
async function approvalLinkFor(staff: WebClient, requester: string): Promise<{ subject: string; link: string }> {
  const list = await eventually(async () => {
    const html = (await staff.get('/dev/mail')).text;
    return html.includes(`Authorize ${requester}`) ? html : undefined;
  }, 15000, `an approval request for ${requester} in /dev/mail`);
  const m = new RegExp(`href="/dev/mail/(\\d+)">(\\[CASE-\\d+\\] Authorize ${requester.replace('.', '\\.')}[^<]*)<`).exec(list);
  if (!m) throw new Error('no approval request in the captured mail');
  const mail = (await staff.get(`/dev/mail/${m[1]}`)).text;
  const href = /href="([^"]*\/approvals\/[^"]+)"/.exec(mail)?.[1];
  if (!href) throw new Error('no approval link in the request');
  return { subject: m[2]!, link: href.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&') };
}

async function demoRun(signal: NodeJS.Signals): Promise<string> {
  const [port, smtpPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const run = (running = startDemo({
    DEMO_PORT: String(port),
    DEMO_SMTP_PORT: String(smtpPort),
    DEMO_DATABASE: database,
    DEMO_QUEUE_PREFIX: queuePrefix,
    DEMO_LOG_FILE: join(logDir, 'demo.log'),
  }));
  await eventually(async () => run.output().includes('Press Ctrl-C to stop.') || run.npm.exitCode !== null, 50000, 'the demo to start');
  const printed = run.output();
  expect(printed).toContain('Press Ctrl-C to stop.');
  // The tour names the addresses to use.
  expect(printed).toContain(`${base}/dashboard`);
  expect(printed).toContain(`sign in as ${DEMO_STAFF.email} / ${DEMO_STAFF.password}`);
  expect(printed).toContain(`${base}/dev/mail`);
  expect(printed).toContain(`${base}/portal/login`);
  expect(printed).toContain('alice@acme.test');

  const staff = new WebClient(base);
  expect((await staff.signIn(DEMO_STAFF.email, DEMO_STAFF.password)).headers.get('location')).toBe('/dashboard');
  const request = await approvalLinkFor(staff, 'dave@acme.test');
  expect(printed).toContain(request.subject.slice(0, 40));
  // The link opens the confirmation page, and its Authorize button opens the case.
  const page = await fetch(request.link);
  expect(page.status).toBe(200);
  expect(await page.text()).toMatch(/<button type="submit" name="decision" value="authorize"/);
  const reference = /\[(CASE-\d+)\]/.exec(request.subject)![1]!;
  const decided = await fetch(request.link.replace(/\?.*$/, ''), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=authorize', redirect: 'manual' });
  expect(decided.status).toBeLessThan(400);
  const api = { authorization: 'Bearer demo-api-token-change-me' };
  await eventually(async () => ((await (await fetch(`${base}/api/cases/${reference}`, { headers: api })).json()) as { status: string }).status === 'open', 15000, `${reference} to open`);

  const servicePid = Number(/case-intake is running \(pid (\d+)\)/.exec(printed)?.[1]);
  expect(servicePid).toBeGreaterThan(0);
  process.kill(run.npm.pid!, signal);
  // npm passes the signal on, waits for the demo, then dies of it as the demo did: no failure
  // report. (The service stops within 10 s; 'still running' means the signal got stuck on the way.)
  expect(await within(run.exited, 20000, () => 'still running')).toEqual({ code: null, signal });
  // Nothing of its process group is left (npm, the demo's shell, the service), the service included.
  expect(alive(-run.npm.pid!)).toBe(false);
  expect(alive(servicePid)).toBe(false);
  await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  running = undefined;
  return request.subject;
}

describe('npm run demo, twice', () => {
  beforeAll(async () => {
    logDir = await mkdtemp(join(tmpdir(), 'case-intake-demo-'));
  });

  afterAll(async () => {
    if (running?.npm.pid && alive(-running.npm.pid)) process.kill(-running.npm.pid, 'SIGKILL');
    const admin = new Client({ connectionString: TEST_PG });
    await admin.connect();
    await admin.query(`drop database if exists ${database} with (force)`);
    await admin.end();
    await deleteRedisPrefix(queuePrefix);
    await rm(logDir, { recursive: true, force: true });
  });

  let first = '';
  it('has an approval request to click, and SIGINT to npm stops the service', async () => {
    first = await demoRun('SIGINT');
  }, 90000);

  it('has the same request to click the second time (a fresh database), and SIGTERM to npm stops it too', async () => {
    expect(first).toMatch(/^\[CASE-\d+\] Authorize dave@acme\.test/);
    expect(await demoRun('SIGTERM')).toBe(first);
  }, 90000);
});
