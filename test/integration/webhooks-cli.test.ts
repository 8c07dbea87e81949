import { runCli } from '../support/cli';
import { cliEnv, createTestApp, type TestApp } from '../support/env';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

// `case-intake webhooks …` as an operator runs it, against a real database and receiver.
describe('case-intake webhooks', () => {
  let app: TestApp;
  let hooks: WebhookReceiver;
  let env: Record<string, string>;

  beforeAll(async () => {
    app = await createTestApp();
    hooks = await startWebhookReceiver();
    env = { ...cliEnv(app), NODE_ENV: 'test', IMAP_URL: '', SUPPORT_ADDRESS: 'support@support.example.com', WEBHOOK_TIMEOUT: '1s' };
  });
  afterAll(async () => {
    await hooks.stop();
    await app.close();
  });

  it('adds an endpoint, printing its secret once, and lists it without the secret', async () => {
    const added = await runCli(['webhooks', 'add', hooks.url, '--events', 'case.created,case.escalated'], env);
    expect(added.code).toBe(0);
    const secret = /^secret: (whsec_\S+)$/m.exec(added.stdout)?.[1];
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(added.stdout).toMatch(/^added endpoint \d+ \(case\.created, case\.escalated\)$/m);
    const listed = await runCli(['webhooks', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${hooks.url}\tcase.created,case.escalated\t0\t0\t0\t-`);
    expect(listed.stdout).not.toContain(secret!);
    // The database holds it sealed, not as it was printed.
    const row = await app.ctx.db.selectFrom('webhook_endpoints').select('sealed_secret').executeTakeFirstOrThrow();
    expect(row.sealed_secret.toString('latin1')).not.toContain(secret!.slice(6));
    hooks.secret = secret!;
  });

  it('sends a signed test event and says what the receiver answered', async () => {
    const id = (await app.ctx.db.selectFrom('webhook_endpoints').select('id').executeTakeFirstOrThrow()).id;
    const ok = await runCli(['webhooks', 'test', id], env);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/^delivered: HTTP 200 in \d+ ms$/m);
    const got = hooks.received.at(-1)!;
    expect(got.verified).toBe(true);
    expect(got.event).toMatchObject({ type: 'webhook.test', data: { endpoint: id } });
    expect(got.headers['webhook-id']).toBe(got.event.id);
    // Not an event of the feed: nothing was recorded for it.
    expect(await app.ctx.db.selectFrom('events').select('id').execute()).toEqual([]);

    hooks.answer = () => ({ status: 401 });
    const refused = await runCli(['webhooks', 'test', id], env);
    expect(refused.code).toBe(69);
    expect(refused.stdout).toContain('not delivered: HTTP 401: receiver trouble');
    hooks.answer = () => 'hang';
    const slow = await runCli(['webhooks', 'test', id], env);
    expect(slow.code).toBe(69);
    expect(slow.stdout).toContain('not delivered: no answer within 1 s');
    hooks.answer = () => ({ status: 200 });
  });

  it('refuses a bad URL or event type with every problem listed, and unknown ids', async () => {
    const bad = await runCli(['webhooks', 'add', 'ftp://desk.example/x#frag', '--events', 'case.created,case.exploded'], env);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain('the URL must be https://');
    expect(bad.stderr).toContain('must not have a #fragment');
    expect(bad.stderr).toContain('unknown event type case.exploded; the types are case.created');
    expect((await runCli(['webhooks', 'remove', '999'], env)).stderr).toContain('no webhook endpoint 999');
    expect((await runCli(['webhooks', 'test', 'abc'], env)).code).toBe(65);
    const usage = await runCli(['webhooks', 'list', 'extra'], env);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toContain('webhooks add URL [--events TYPE[,TYPE]]');
  });

  it('removes an endpoint', async () => {
    const id = (await app.ctx.db.selectFrom('webhook_endpoints').select('id').executeTakeFirstOrThrow()).id;
    expect(await runCli(['webhooks', 'remove', id], env)).toMatchObject({ code: 0, stdout: `removed endpoint ${id}\n` });
    expect((await runCli(['webhooks', 'list'], env)).stdout).toContain('no webhook endpoints');
  });
});
