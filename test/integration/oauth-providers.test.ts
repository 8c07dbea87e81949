import { appendMessage } from '../support/dovecot';
import { eventually } from '../support/env';
import { makeMessage } from '../support/messages';
import { casesTakenIn, MAILBOX_USER, oauthWorldForTests, TOKEN_SHAPED, type Flow } from '../support/oauth-service';

/**
 * Each provider's flow, configured as the README says, against servers that take nothing but
 * tokens: mail comes in over IMAP and an answer goes out over SMTP, and the token endpoint sees
 * exactly the grant, client and scope that provider requires.
 */
describe('OAuth mailboxes: each provider flow takes mail in and sends mail out', () => {
  const world = oauthWorldForTests();

  const expected: Record<Flow, { path: RegExp; grant: string; client: () => string; scope: string | null; auth: string }> = {
    'microsoft-secret': { path: /\/oauth2\/v2\.0\/token$/, grant: 'client_credentials', client: () => world.provider.microsoft.clientId, scope: 'https://outlook.office365.com/.default', auth: 'secret_post' },
    'microsoft-certificate': { path: /\/oauth2\/v2\.0\/token$/, grant: 'client_credentials', client: () => world.provider.microsoft.clientId, scope: 'https://outlook.office365.com/.default', auth: 'assertion' },
    'google-service-account': { path: /^\/token$/, grant: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client: () => '', scope: null, auth: 'assertion' },
    'google-refresh-token': { path: /^\/token$/, grant: 'refresh_token', client: () => world.provider.google.oauthClientId, scope: null, auth: 'secret_post' },
    'generic-client-credentials': { path: /^\/generic\/token$/, grant: 'client_credentials', client: () => world.provider.generic.clientId, scope: 'generic', auth: 'secret_post' },
    'generic-refresh-token': { path: /^\/generic\/token$/, grant: 'refresh_token', client: () => world.provider.generic.clientId, scope: null, auth: 'secret_post' },
  };

  it.each(Object.keys(expected) as Flow[])('%s', async (flow) => {
    const before = world.provider.requests.length;
    const sentBefore = world.smtp.messages.length;
    const taken = await casesTakenIn(world.app);
    const env = await world.flowEnv(flow);
    const service = await world.start(env);
    try {
      await appendMessage(world.dovecot, makeMessage({ from: 'bob@acme.test', to: MAILBOX_USER, subject: `over ${flow}`, id: `oauth-${flow}` }));
      await eventually(async () => (await casesTakenIn(world.app)) > taken, 20_000, `the ${flow} message to become a case`);
      await eventually(async () => world.smtp.messages.length > sentBefore, 20_000, `mail to leave over SMTP with ${flow}`);
      const ready = await service.readyz();
      expect(ready.body.mailbox.state).toBe('connected');

      const requests = world.provider.requests.slice(before);
      expect(requests.length).toBeGreaterThan(0);
      const want = expected[flow];
      for (const r of requests) {
        expect(r.path).toMatch(want.path);
        expect(r.grantType).toBe(want.grant);
        expect(r.status).toBe(200);
        if (want.client()) expect(r.clientId).toBe(want.client());
        if (want.scope) expect(r.scope).toBe(want.scope === 'generic' ? world.provider.generic.mailScope : want.scope);
        expect(r.clientAuth).toBe(want.auth);
      }
      if (flow === 'google-service-account') {
        for (const r of requests) expect(r.assertion?.claims).toMatchObject({ iss: world.provider.google.clientEmail, sub: MAILBOX_USER, scope: 'https://mail.google.com/', aud: world.provider.google.tokenUrl });
      }
      // One token serves IMAP and SMTP: the same credential is one cache.
      expect(requests).toHaveLength(1);
      expect(world.smtp.authAttempts.filter((a) => a.accepted).at(-1)?.user).toBe(MAILBOX_USER);
      // Neither the secrets nor a token reach the logs.
      const logs = service.output();
      for (const secret of Object.values(env).filter((v) => v.length >= 16 && !v.startsWith('http') && !v.startsWith('/'))) expect(logs).not.toContain(secret);
      expect(logs).not.toMatch(TOKEN_SHAPED);
    } finally {
      await service.stop();
    }
  }, 60_000);
});
