import { appendMessage } from '../support/dovecot';
import { eventually } from '../support/env';
import { makeMessage } from '../support/messages';
import { casesTakenIn, MAILBOX_USER, oauthWorldForTests } from '../support/oauth-service';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Tokens that live two seconds, a server that drops the session every few seconds and one that
 * revokes every token it issued: the watcher keeps taking mail in, nothing lost or doubled.
 */
describe('OAuth mailbox across token expiries, reconnects and a revocation', () => {
  const world = oauthWorldForTests();

  it('takes every message in exactly once while its tokens expire and its sessions are dropped', async () => {
    await world.withTokenLifetime(2, async () => {
      const service = await world.start(await world.flowEnv('microsoft-secret'));
      try {
        const taken = await casesTakenIn(world.app);
        const requestsBefore = world.provider.requests.length;
        const loginsBefore = world.provider.introspections.length;
        const total = 60;
        let kicks = 0;
        for (let i = 0; i < total; i++) {
          await appendMessage(world.dovecot, makeMessage({ from: 'bob@acme.test', to: MAILBOX_USER, subject: `expiry ${i}`, id: `expiry-${i}` }));
          await sleep(200);
          // Every 2.4 s the session is dropped: each reconnect needs a token newer than the last.
          if (i % 12 === 11 && (await world.dovecot.kick(MAILBOX_USER))) kicks++;
        }
        await eventually(async () => (await casesTakenIn(world.app)) >= taken + total, 30_000, 'every message to become a case');
        expect(kicks).toBeGreaterThanOrEqual(4);
        // Renewed for the reconnects (a kick may land while the last one still has a token of
        // under a second's age), and each login's token was alive: renewed before it expired.
        const fetched = world.provider.requests.length - requestsBefore;
        expect(fetched).toBeGreaterThanOrEqual(kicks - 1);
        const logins = world.provider.introspections.slice(loginsBefore);
        expect(logins.length).toBeGreaterThanOrEqual(kicks);
        expect(logins.filter((l) => !l.active)).toEqual([]);
        expect(world.provider.requests.slice(requestsBefore).every((r) => r.status === 200)).toBe(true);

        const rows = await world.app.ctx.db.selectFrom('raw_messages').select(['message_id', 'status']).where('message_id', 'like', '%expiry-%').execute();
        expect(rows).toHaveLength(total);
        expect(new Set(rows.map((r) => r.message_id)).size).toBe(total);
        expect(rows.every((r) => r.status === 'case')).toBe(true);
        // The last kick may have come a moment ago: it reconnects within its first backoff.
        await eventually(async () => (await service.readyz()).body.mailbox.state === 'connected', 10_000, 'connected after the last kick');
      } finally {
        await service.stop();
      }
    });
  }, 120_000);

  it('survives a server that revokes its token mid-session: one fresh token, one retry, mail goes on', async () => {
    const service = await world.start(await world.flowEnv('microsoft-secret'));
    try {
      await appendMessage(world.dovecot, makeMessage({ from: 'bob@acme.test', to: MAILBOX_USER, subject: 'before the revocation', id: 'revoke-before' }));
      const taken = await eventually(async () => {
        const n = await casesTakenIn(world.app);
        return (await world.app.ctx.db.selectFrom('raw_messages').select('id').where('message_id', 'like', '%revoke-before%').executeTakeFirst()) ? n : undefined;
      }, 20_000, 'the first message');
      const requestsBefore = world.provider.requests.length;
      // The token the watcher holds still has an hour by its own reckoning: the server says no.
      world.provider.revokeAll();
      expect(await world.dovecot.kick(MAILBOX_USER)).toBe(true);
      await appendMessage(world.dovecot, makeMessage({ from: 'bob@acme.test', to: MAILBOX_USER, subject: 'after the revocation', id: 'revoke-after' }));
      await eventually(async () => (await casesTakenIn(world.app)) > taken, 20_000, 'the message after the revocation');
      await eventually(async () => (await service.readyz()).body.mailbox.state === 'connected', 10_000, 'connected again');
      const refused = world.provider.introspections.filter((i) => !i.active);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      // Exactly one fresh token for the watcher (SMTP may ask once too, for its own new connection).
      const fresh = world.provider.requests.slice(requestsBefore);
      expect(fresh.length).toBeGreaterThanOrEqual(1);
      expect(fresh.length).toBeLessThanOrEqual(2);
    } finally {
      await service.stop();
    }
  }, 60_000);
});
