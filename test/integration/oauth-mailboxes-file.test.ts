import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendMessage, startDovecot, type DovecotServer } from '../support/dovecot';
import { eventually } from '../support/env';
import { makeMessage } from '../support/messages';
import { MAILBOX_USER, startOAuthWorld, type OAuthWorld } from '../support/oauth-service';

/**
 * MAILBOXES_FILE: two mailboxes with different logins watched by one process, a Google
 * service account for one (its key file named relative to the list) and a password given
 * through the environment for the other; the file itself holds no secret.
 */
describe('MAILBOXES_FILE: mailboxes with a login each', () => {
  let world: OAuthWorld;
  let desk: DovecotServer;
  let dir: string;
  beforeAll(async () => {
    world = await startOAuthWorld();
    desk = await startDovecot({ user: 'desk', password: 'desk:pass/word@1' });
    dir = await mkdtemp(join(tmpdir(), 'mailboxes-file-'));
  }, 60_000);
  afterAll(async () => {
    await desk?.stop();
    await world?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('watches both, each logging in its own way', async () => {
    await copyFile(world.provider.google.serviceAccountFile, join(dir, 'google-sa.json'));
    const file = join(dir, 'mailboxes.json');
    await writeFile(
      file,
      JSON.stringify([
        { url: `imap://${encodeURIComponent(MAILBOX_USER)}@127.0.0.1:${world.dovecot.port}/INBOX`, auth: { method: 'oauth2', provider: 'google', serviceAccountFile: 'google-sa.json', authorityUrl: world.provider.url } },
        { url: `imap://desk@127.0.0.1:${desk.port}/INBOX`, auth: { method: 'password', password: { env: 'DESK_PASSWORD' } } },
      ]),
    );
    // SMTP keeps its OAUTH_* login; the mailboxes come from the file alone (IMAP_URL and IMAP_AUTH blank).
    const service = await world.start({ ...(await world.flowEnv('microsoft-secret')), MAILBOXES_FILE: file, DESK_PASSWORD: desk.password, IMAP_AUTH: '', IMAP_URL: '' });
    try {
      await appendMessage(world.dovecot, makeMessage({ from: 'bob@acme.test', to: MAILBOX_USER, subject: 'to the Google mailbox', id: 'file-google' }));
      await appendMessage(desk, makeMessage({ from: 'bob@acme.test', to: 'desk@acme.test', subject: 'to the password mailbox', id: 'file-desk' }));
      await eventually(async () => {
        const rows = await world.app.ctx.db.selectFrom('raw_messages').select('message_id').where('status', '=', 'case').where((eb) => eb.or([eb('message_id', 'like', '%file-google%'), eb('message_id', 'like', '%file-desk%')])).execute();
        return rows.length === 2;
      }, 30_000, 'a case from each mailbox');
      const ready = await service.readyz();
      expect(ready.status).toBe(200);
      const google = world.provider.requests.filter((r) => r.provider === 'google');
      expect(google.at(-1)?.assertion?.claims).toMatchObject({ sub: MAILBOX_USER });
      expect(service.output()).not.toContain(desk.password);
    } finally {
      await service.stop();
    }
  }, 60_000);
});
