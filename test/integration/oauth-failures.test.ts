import { signedInStaff } from '../support/staff';
import { appendMessage } from '../support/dovecot';
import { eventually } from '../support/env';
import { makeMessage } from '../support/messages';
import { casesTakenIn, MAILBOX_USER, oauthWorldForTests, TOKEN_SHAPED, type ServiceProcess } from '../support/oauth-service';

/**
 * Credentials that do not work, as operators meet them: the mailbox says `auth_failed` with the
 * reason in words on /readyz (503), /metrics and the dashboard's alarm, and is connected again by
 * itself once the provider accepts them.
 */
describe('OAuth mailbox whose credentials fail', () => {
  const world = oauthWorldForTests();

  const authFailed = async (service: ServiceProcess, code: string, words: RegExp) => {
    const ready = await eventually(async () => {
      const r = await service.readyz();
      return r.body.mailbox.state === 'auth_failed' ? r : undefined;
    }, 20_000, `the mailbox to be auth_failed (${code})`);
    expect(ready.status).toBe(503);
    expect(ready.body.mailbox.lastError).toMatch(words);
    expect(await service.metrics()).toMatch(new RegExp(`case_intake_mailbox_state\\{mailbox="imap://[^"]+",state="auth_failed",reason="${code}"\\} 1`));
    return ready.body.mailbox.lastError ?? '';
  };
  // The token in the cache lives two seconds; a reconnect after that needs a new one.
  const afterTheCachedToken = () => new Promise((r) => setTimeout(r, 2500));
  const connected = (service: ServiceProcess) => eventually(async () => (await service.readyz()).body.mailbox.state === 'connected', 30_000, 'the mailbox to connect again');

  it('a wrong client secret, an unknown tenant: said at once, the secret never shown', async () => {
    const good = await world.flowEnv('microsoft-secret');
    const wrongSecret = 'Qv8~not-the-secret-value-at-all.x1';
    const service = await world.start({ ...good, OAUTH_CLIENT_SECRET: wrongSecret });
    try {
      const reason = await authFailed(service, 'AADSTS7000215', /OAUTH_CLIENT_SECRET/);
      expect(reason).not.toContain(wrongSecret);
      const client = await signedInStaff(world.app.ctx.db, service.base);
      const page = await client.get('/dashboard');
      expect(page.text).toMatch(/cannot log in/);
      expect(page.text).toMatch(/OAUTH_CLIENT_SECRET/);
      expect(page.text).not.toContain(wrongSecret);
      expect(service.output()).not.toContain(wrongSecret);
    } finally {
      await service.stop();
    }
    const tenant = await world.start({ ...good, OAUTH_TENANT_ID: '6f1c2d3e-0000-4000-8000-00000000dead' });
    try {
      await authFailed(tenant, 'AADSTS90002', /OAUTH_TENANT_ID/);
    } finally {
      await tenant.stop();
    }
  }, 60_000);

  it('the token endpoint down, a permission withdrawn, the mailbox not granted: each said, each mended by itself', async () => {
    await world.withTokenLifetime(2, async () => {
      // Short tokens: every reconnect needs the token endpoint.
      const service = await world.start(await world.flowEnv('microsoft-secret'));
      try {
        await connected(service);
        const taken = await casesTakenIn(world.app);

        await world.provider.down();
        await afterTheCachedToken();
        await world.dovecot.kick(MAILBOX_USER);
        await authFailed(service, 'unreachable', /cannot be reached/);
        // Mail that arrives meanwhile waits in the mailbox.
        await appendMessage(world.dovecot, makeMessage({ from: 'bob@acme.test', to: MAILBOX_USER, subject: 'while the provider was down', id: 'oauth-down' }));
        await world.provider.up();
        await connected(service);
        await eventually(async () => (await casesTakenIn(world.app)) > taken, 20_000, 'the waiting message to be taken in');

        world.provider.setRoles(['SMTP.SendAsApp']);
        await afterTheCachedToken();
        await world.dovecot.kick(MAILBOX_USER);
        await authFailed(service, 'missing_permission', /IMAP\.AccessAsApp/);
        world.provider.setRoles(['IMAP.AccessAsApp', 'SMTP.SendAsApp']);
        await connected(service);

        world.provider.revokeMailbox(MAILBOX_USER);
        await afterTheCachedToken();
        await world.dovecot.kick(MAILBOX_USER);
        await authFailed(service, 'mailbox_not_granted', /Add-MailboxPermission/);
        world.provider.grantMailbox(MAILBOX_USER);
        await connected(service);

        world.provider.setConsent(false);
        await afterTheCachedToken();
        await world.dovecot.kick(MAILBOX_USER);
        await authFailed(service, 'AADSTS65001', /consent/);
        world.provider.setConsent(true);
        await connected(service);

        expect(service.output()).not.toContain(world.provider.microsoft.clientSecret);
        expect(service.output()).not.toMatch(TOKEN_SHAPED);
      } finally {
        await service.stop();
      }
    });
  }, 180_000);

  it('keeps the lease while its token cannot be renewed: a standby never takes the mailbox over', async () => {
    await world.withTokenLifetime(2, async () => {
      const env = await world.flowEnv('microsoft-secret');
      const first = await world.start(env);
      const second = await world.start(env);
      try {
        await connected(first);
        const holder = async () => (await world.app.ctx.db.selectFrom('mailbox_watchers').select(['holder', 'state']).executeTakeFirstOrThrow());
        const live = await eventually(async () => ((await holder()).state === 'connected' ? holder() : undefined), 10_000, 'a live watcher');
        expect(live.holder).toMatch(new RegExp(`:${first.child.pid}$`));

        await world.provider.down();
        await afterTheCachedToken();
        await world.dovecot.kick(MAILBOX_USER);
        await authFailed(first, 'unreachable', /cannot be reached/);
        await new Promise((r) => setTimeout(r, 3000));
        expect((await holder()).holder).toBe(live.holder);
        expect((await second.readyz()).body.mailbox.state).toBe('standby');

        await world.provider.up();
        await connected(first);
        expect((await holder()).holder).toBe(live.holder);
      } finally {
        await Promise.all([first.stop(), second.stop()]);
      }
    });
  }, 120_000);

  it('outbound mail whose SMTP login is refused waits in the outbox saying why, and leaves once it works', async () => {
    world.provider.setRoles(['IMAP.AccessAsApp']);
    const service = await world.start(await world.flowEnv('microsoft-secret'));
    try {
      const sentBefore = world.smtp.messages.length;
      await appendMessage(world.dovecot, makeMessage({ from: 'bob@acme.test', to: MAILBOX_USER, subject: 'answer me over SMTP', id: 'oauth-smtp-refused' }));
      const waiting = await eventually(async () => {
        const row = await world.app.ctx.db.selectFrom('outbox').select(['id', 'status', 'last_error']).where('last_error', 'is not', null).where('status', '=', 'pending').executeTakeFirst();
        return row ?? undefined;
      }, 30_000, 'a send to fail on the SMTP login');
      expect(waiting.last_error).toMatch(/SMTP\.SendAsApp/);
      expect(world.smtp.messages.length).toBe(sentBefore);
      world.provider.setRoles(['IMAP.AccessAsApp', 'SMTP.SendAsApp']);
      await eventually(async () => {
        const row = await world.app.ctx.db.selectFrom('outbox').select('status').where('id', '=', waiting.id).executeTakeFirstOrThrow();
        return row.status === 'sent';
      }, 30_000, 'the waiting mail to be sent');
      // The sink records a message a moment after its 250 (and the row's `sent`).
      await eventually(async () => world.smtp.messages.length > sentBefore, 10_000, 'the sink to have it');
      expect(world.smtp.messages.at(-1)?.authUser).toBe(MAILBOX_USER);
    } finally {
      await service.stop();
      world.provider.setRoles(['IMAP.AccessAsApp', 'SMTP.SendAsApp']);
    }
  }, 90_000);
});
