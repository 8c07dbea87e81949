import { sql } from 'kysely';
import { runMaintenance, enqueueDeliveries } from '../../src/queue/handlers';
import { loadPerson } from '../../src/portal/people';
import { parseMemberForm, saveMember } from '../../src/portal/team';
import { eventually } from '../support/env';
import { portalClient } from '../support/portal';
import { linkIn, startTestService, type TestService } from '../support/service';
import type { CapturedMessage } from '../support/smtp-sink';

/**
 * The outbox keeps no working link at rest: every version of every row it ever held (recorded
 * by a trigger, as written and as updated) is searched for the tokens the SMTP sink received,
 * mail of each kind that carries one: approval request and reminder, portal sign-in, invitation.
 */
describe('links at rest: the outbox stores no secret part of a mail (PostgreSQL, Redis, SMTP sink, HTTP)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
    await sql`create table outbox_versions (kind text, row_text text)`.execute(t.app.ctx.db);
    await sql`create function record_outbox_version() returns trigger language plpgsql as $$
      begin insert into outbox_versions values (new.kind, row_to_json(new)::text); return new; end $$`.execute(t.app.ctx.db);
    await sql`create trigger outbox_versions after insert or update on outbox for each row execute function record_outbox_version()`.execute(t.app.ctx.db);
  });
  afterAll(() => t.close());

  /** The tokens of a mail: approval tokens in its links and Reply-To, portal sign-in tokens. */
  const tokensIn = (m: CapturedMessage): string[] => {
    const text = `${m.parsed.text ?? ''}\n${String(m.parsed.html)}\n${m.parsed.replyTo?.text ?? ''}`;
    return [...text.matchAll(/\/approvals\/([0-9a-z.]{20,})|\+approve-([0-9a-z.]{20,})@|\/portal\/login\/([A-Za-z0-9_-]{43})/g)].map((x) => x[1] ?? x[2] ?? x[3]!);
  };

  it('approval requests and reminders, sign-in links and invitations arrive with working links, none readable in any outbox row', async () => {
    const db = t.app.ctx.db;
    const ref = await t.write('Mallory <mallory@acme.test>', 'Cannot log in', { id: 'rest-1' });
    await t.caseIn(ref, 'suspended');
    const request = await eventually(async () => t.sink.to('bob@acme.test', /Authorize mallory/)[0]);

    await db.updateTable('approvals').set({ remind_at: sql<Date>`now() - interval '1 minute'` }).where('requester_email', '=', 'mallory@acme.test').execute();
    await runMaintenance(t.app.ctx, 60_000);
    const reminder = await eventually(async () => t.sink.to('bob@acme.test').find((m) => m !== request && /mallory/.test(m.parsed.subject ?? '')));

    const invited = await saveMember(t.app.ctx.approvals, await loadPerson(db, 'alice@acme.test'), 'acme', parseMemberForm({ email: 'nina@acme.test', name: 'Nina New', 'role.acme-prod': 'user' }, ['acme-prod', 'acme-dev']), { create: true });
    if (!invited.ok) throw new Error('invitation refused');
    await enqueueDeliveries(t.app.ctx, invited.outboxIds);
    const invitation = await eventually(async () => t.sink.to('nina@acme.test')[0]);

    // Signing in follows the sign-in link from the mail: it works.
    await portalClient(t, 'bob@acme.test');
    const signIn = t.sink.to('bob@acme.test').find((m) => /sign-in link/i.test(m.parsed.subject ?? ''))!;

    const mails = { request, reminder, invitation, signIn };
    const tokens = Object.entries(mails).flatMap(([name, m]) => {
      const found = tokensIn(m);
      expect({ name, found: found.length > 0 }).toEqual({ name, found: true });
      return found;
    });
    // Every row sent, and no sealed part left behind.
    await eventually(async () => (await db.selectFrom('outbox').select('id').where('status', '=', 'pending').execute()).length === 0);
    const versions = (await sql<{ kind: string; row_text: string }>`select kind, row_text from outbox_versions`.execute(db)).rows;
    expect(new Set(versions.map((v) => v.kind))).toEqual(new Set(['held_notice', 'approval_request', 'approval_reminder', 'portal_invitation', 'portal_sign_in']));
    const current = (await sql<{ row_text: string }>`select row_to_json(o)::text as row_text from outbox o`.execute(db)).rows;
    for (const token of tokens) {
      expect({ token, inAVersion: versions.some((v) => v.row_text.includes(token)), now: current.some((r) => r.row_text.includes(token)) }).toEqual({ token, inAVersion: false, now: false });
    }
    expect((await sql<{ n: string }>`select count(*) as n from outbox where sealed_secrets is not null`.execute(db)).rows[0]!.n).toBe('0');

    // The links the mail carries work: the approval page and the Reply-To address are the approver's own.
    const page = await fetch(linkIn(String(reminder.parsed.html), `${t.base}/approvals/`));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('mallory@acme.test');
    expect(request.parsed.replyTo?.value[0]?.address).toMatch(/^support\+approve-[0-9a-z.]+@support\.example\.com$/);
    expect(String(invitation.parsed.text)).toContain(linkIn(String(invitation.parsed.html), `${t.base}/portal/login/`));
  });
});
