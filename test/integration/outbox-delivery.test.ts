import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import { createPool } from '../../src/db/connection';
import { deliverOutboxRow, deliverOutboxRows } from '../../src/mail/deliver';
import type { CommitPoint } from '../../src/mail/commit-point';
import { createSmtpTransport, type MailTransport } from '../../src/mail/transport';
import { ROOT } from '../support/cli';
import type { DeathMoment } from '../support/deliver-and-die';
import { createTestApp, eventually, type TestApp } from '../support/env';
import { freePort, startSmtpSink, type SmtpSink } from '../support/smtp-sink';

const SUPPORT = 'support@support.example.com';

describe('outbox delivery: the commit point inside the SMTP DATA phase', () => {
  let app: TestApp;
  let sink: SmtpSink;
  let counter = 0;

  beforeAll(async () => {
    sink = await startSmtpSink();
    app = await createTestApp({ SMTP_URL: sink.url, SUPPORT_ADDRESS: SUPPORT });
  });
  afterAll(async () => {
    await app.close();
    await sink.stop();
  });
  beforeEach(() => {
    sink.accept();
    sink.messages.length = 0;
    sink.aborted.length = 0;
  });

  const deps = (transport: MailTransport = app.ctx.transport) => ({ db: app.ctx.db, commitPool: app.ctx.commitPool, transport, sealer: app.ctx.approvals.outbox.sealer, log: app.ctx.log });
  const newRow = async (subject: string, extra: { in_reply_to?: string; references?: string; reply_to?: string } = {}) => {
    const { id } = await app.ctx.db
      .insertInto('outbox')
      .values({ kind: 'acknowledgement', to_address: 'bob@acme.test', subject, text: `${subject}\n.\nend`, html: `<p>${subject}</p>`, message_id: `delivery-${Date.now()}-${counter++}@support.example.com`, in_reply_to: extra.in_reply_to ?? null, references: extra.references ?? null, reply_to: extra.reply_to ?? null, sent_at: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return id;
  };
  const rowOf = (id: string) => app.ctx.db.selectFrom('outbox').select(['status', 'attempts', 'last_error', 'smtp_response', 'sent_at']).where('id', '=', id).executeTakeFirstOrThrow();
  /**
   * The application's transport, with `beforeSend` run once the row is taken (before any SMTP)
   * and `commit` in place of the commit point's (it is handed the real one).
   */
  const wrapped = (hooks: { beforeSend?: () => Promise<void>; commit?: (real: CommitPoint['commit'], writeTheDot: () => void) => Promise<void> }): MailTransport => ({
    send: async (row, point) => {
      await hooks.beforeSend?.();
      return app.ctx.transport.send(row, { commit: (writeTheDot) => (hooks.commit ? hooks.commit((w) => point.commit(w), writeTheDot) : point.commit(writeTheDot)) });
    },
    close: () => undefined,
  });
  /**
   * The backend holding a taken row's transaction (`idle in transaction`), or one whose take waits
   * for that row's lock (`waiting`), once there is one. This query's own text matches the pattern
   * too: its backend is left out, or it would find itself.
   */
  const takingBackend = async (state: 'idle in transaction' | 'waiting') => {
    let pid = 0;
    await eventually(
      async () => {
        const { rows } = await sql<{ pid: number }>`
          select pid from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and query like '%update outbox set status%'
            and ${state === 'waiting' ? sql`state = 'active' and wait_event_type = 'Lock'` : sql`state = 'idle in transaction'`}`.execute(app.ctx.db);
        pid = rows[0]?.pid ?? 0;
        return rows.length === 1;
      },
      5000,
      `a taking backend ${state}`,
    );
    return pid;
  };
  /** The server saw one DATA end without the dot (and so kept nothing of it). */
  const dataDropped = () => eventually(async () => sink.aborted.length === 1, 5000, 'a DATA dropped before the dot');

  it('sends a row once with the headers it always had', async () => {
    const id = await newRow('Headers kept', { in_reply_to: 'question@acme.test', references: '<first@acme.test> <question@acme.test>', reply_to: 'reply+abc@support.example.com' });
    const outcome = await deliverOutboxRow(deps(), id);
    expect(outcome).toMatchObject({ result: 'sent', response: expect.stringMatching(/^250/) });
    expect(sink.messages).toHaveLength(1);
    const m = sink.messages[0]!;
    expect(m.envelopeTo).toEqual(['bob@acme.test']);
    const head = m.raw.toString('utf8').split('\r\n\r\n')[0]!.split('\r\n');
    expect(head).toEqual(expect.arrayContaining([`From: Support <${SUPPORT}>`, 'To: bob@acme.test', 'Auto-Submitted: auto-replied', 'X-Auto-Response-Suppress: All', 'Reply-To: reply+abc@support.example.com']));
    expect(m.parsed.subject).toBe('Headers kept');
    expect(m.parsed.inReplyTo).toBe('<question@acme.test>');
    expect(m.parsed.references).toEqual(['<first@acme.test>', '<question@acme.test>']);
    expect(m.parsed.replyTo?.text).toBe('reply+abc@support.example.com');
    expect(m.parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(m.parsed.headers.get('x-auto-response-suppress')).toBe('All');
    expect(m.parsed.text).toContain('Headers kept\n.\nend'); // a line with a lone dot survives (dot-stuffed)
    expect(await rowOf(id)).toMatchObject({ status: 'sent', attempts: 0, last_error: null, smtp_response: expect.stringMatching(/^250/), sent_at: expect.any(Date) });
    expect(await deliverOutboxRow(deps(), id)).toEqual({ result: 'skipped', reason: 'sent' });
    expect(sink.messages).toHaveLength(1);
  });

  it('two workers delivering the same row at once: the second waits for the first to commit, finds the row sent, and never talks to the server', async () => {
    const id = await newRow('Both at once');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The first worker holds the row (taken, not committed) until the second is waiting for it.
    const first = deliverOutboxRow(deps(wrapped({ beforeSend: () => held })), id);
    await takingBackend('idle in transaction');
    const second = deliverOutboxRow(deps(), id);
    await takingBackend('waiting');
    release();
    expect(await Promise.all([first, second])).toEqual([expect.objectContaining({ result: 'sent' }), { result: 'skipped', reason: 'no longer pending' }]);
    expect(sink.messages).toHaveLength(1);
    expect(sink.aborted).toHaveLength(0);
    expect(await rowOf(id)).toMatchObject({ status: 'sent', attempts: 0 });
  });

  it('many rows, each delivered by two workers at once without coordination: every row reaches the server exactly once', async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => newRow(`Race ${i}`)));
    const outcomes = await Promise.all(ids.flatMap((id) => [deliverOutboxRow(deps(), id), deliverOutboxRow(deps(), id)]));
    expect(outcomes.filter((o) => o.result === 'sent')).toHaveLength(ids.length);
    expect(sink.messages).toHaveLength(ids.length);
    expect(new Set(sink.messages.map((m) => m.parsed.subject)).size).toBe(ids.length);
  });

  it('a batch keeps one connection for its commit points: each next row is taken right behind the previous row\'s COMMIT', async () => {
    const ids = await Promise.all(['Chain one', 'Chain two', 'Chain three'].map((subject) => newRow(subject)));
    const pool = createPool(app.database.url, { max: 2 });
    const statements: string[] = [];
    let checkouts = 0;
    pool.on('acquire', () => checkouts++);
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, ...rest: unknown[]) => {
        if (typeof text === 'string') statements.push(text.replace(/update outbox set .* where id = (\d+) .*/, (_m, id: string) => `take ${ids.indexOf(id)}`));
        return query(text, ...rest);
      };
    });
    try {
      const windows: number[] = [];
      const outcomes = await deliverOutboxRows({ ...deps(), commitPool: pool, onCommitWindow: (seconds) => windows.push(seconds) }, ids);
      expect(outcomes.map((o) => o.result)).toEqual(['sent', 'sent', 'sent']);
      // Each send tells how long its commit point stayed open.
      expect(windows).toHaveLength(3);
      for (const seconds of windows) expect(seconds).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
    expect(statements).toEqual(['begin; take 0', 'commit', 'begin; take 1', 'commit', 'begin; take 2', 'commit']);
    expect(checkouts).toBe(1);
    expect(sink.messages.map((m) => m.parsed.subject)).toEqual(['Chain one', 'Chain two', 'Chain three']);
  });

  it('a failure at the commit point (before the commit) delivers nothing and leaves the row pending; the next attempt sends it once', async () => {
    const id = await newRow('Commit failed');
    const transport = wrapped({
      commit: () => {
        throw new Error('database went away');
      },
    });
    await expect(deliverOutboxRow(deps(transport), id)).rejects.toThrow(/database went away/);
    expect(await rowOf(id)).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringMatching(/database went away/), sent_at: null });
    // The server was in DATA and got nothing of the message: it drops the transaction.
    await dataDropped();
    expect(sink.aborted[0]!.bytes).toBe(0);
    expect(sink.messages).toHaveLength(0);
    expect(await deliverOutboxRow(deps(), id)).toMatchObject({ result: 'sent' });
    expect(sink.messages).toHaveLength(1);
    expect(await rowOf(id)).toMatchObject({ status: 'sent', attempts: 1, last_error: null });
  });

  it('the connection to PostgreSQL lost before the commit (PostgreSQL restarting): no COMMIT and no dot; the row stays pending and the retry sends it once', async () => {
    /** Once the row is taken, ends the server process that holds its open transaction. */
    const loseTheConnection = wrapped({
      beforeSend: async () => {
        const pid = await takingBackend('idle in transaction');
        await sql`select pg_terminate_backend(${pid})`.execute(app.ctx.db);
        await eventually(async () => (await sql`select 1 from pg_stat_activity where pid = ${pid}`.execute(app.ctx.db)).rows.length === 0, 5000, 'the backend to end');
      },
    });
    const id = await newRow('Connection lost before the commit');
    await expect(deliverOutboxRow(deps(loseTheConnection), id)).rejects.toThrow(/lost before the commit/);
    expect(await rowOf(id)).toMatchObject({ status: 'pending', attempts: 1, sent_at: null });
    // The server was in DATA and got nothing of the message.
    await dataDropped();
    expect(sink.aborted[0]!.bytes).toBe(0);
    expect(sink.messages).toHaveLength(0);
    expect(await deliverOutboxRow(deps(), id)).toMatchObject({ result: 'sent' });
    expect(sink.messages).toHaveLength(1);
  });

  it('a COMMIT that fails while the server takes the mail: the row is marked sent after all, and the retry sends nothing; refused, it is pending for the retry', async () => {
    // A deferred constraint trigger fails the COMMIT itself, the connection staying up; only on
    // the commit point's connections (synchronous_commit off), so markSent's update goes through.
    const failCommits = () =>
      sql`create constraint trigger fail_at_commit after update on outbox deferrable initially deferred for each row when (new.subject like 'Commit fails%' and new.status = 'sent') execute function fail_at_commit()`.execute(app.ctx.db);
    await sql`create function fail_at_commit() returns trigger language plpgsql as $$ begin if current_setting('synchronous_commit') = 'off' then raise exception 'commit refused by the test'; end if; return null; end $$`.execute(app.ctx.db);
    await failCommits();
    try {
      const id = await newRow('Commit fails, mail taken');
      expect(await deliverOutboxRow(deps(), id)).toMatchObject({ result: 'sent' });
      expect(sink.messages).toHaveLength(1);
      await sql`drop trigger fail_at_commit on outbox`.execute(app.ctx.db);
      expect(await rowOf(id)).toMatchObject({ status: 'sent', attempts: 0 });
      expect(await deliverOutboxRow(deps(), id)).toEqual({ result: 'skipped', reason: 'sent' });
      expect(sink.messages).toHaveLength(1);

      await failCommits();
      const refused = await newRow('Commit fails, mail refused');
      sink.refuse(451);
      await expect(deliverOutboxRow(deps(), refused)).rejects.toThrow(/451/);
      expect(await rowOf(refused)).toMatchObject({ status: 'pending', attempts: 1, sent_at: null });
      sink.accept();
      await sql`drop trigger fail_at_commit on outbox`.execute(app.ctx.db);
      expect(await deliverOutboxRow(deps(), refused)).toMatchObject({ result: 'sent' });
      expect(sink.messages).toHaveLength(2);
    } finally {
      await sql`drop trigger if exists fail_at_commit on outbox`.execute(app.ctx.db);
      await sql`drop function fail_at_commit()`.execute(app.ctx.db);
    }
  });

  describe('kill -9 of the sending process', () => {
    const killedAt = async (id: string, moment: DeathMoment) => {
      const child = spawn(process.execPath, [join(ROOT, 'dist/test/support/deliver-and-die.js'), app.database.url, sink.url, id, moment], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
      expect({ signal, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    };

    it('in DATA before the commit: nothing delivered (the server got nothing of the message), the row rolled back, and a later delivery sends it once', async () => {
      const id = await newRow('Killed before the commit');
      await killedAt(id, 'in-data');
      await dataDropped();
      expect(sink.aborted[0]!.bytes).toBe(0);
      expect(sink.messages).toHaveLength(0);
      await eventually(async () => (await rowOf(id)).status === 'pending', 5000, 'the taken row to roll back');
      expect(await rowOf(id)).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await deliverOutboxRow(deps(), id)).toMatchObject({ result: 'sent' });
      expect(sink.messages).toHaveLength(1);
    });

    it('after the server answered 250, before the answer was recorded: sent once, and the retry sends nothing', async () => {
      const id = await newRow('Killed after the answer');
      await killedAt(id, 'after-answer');
      expect(sink.messages).toHaveLength(1);
      expect(await rowOf(id)).toMatchObject({ status: 'sent', smtp_response: null });
      expect(await deliverOutboxRow(deps(), id)).toEqual({ result: 'skipped', reason: 'sent' });
      expect(sink.messages).toHaveLength(1);
    });

    it('with the row taken, before any SMTP: PostgreSQL rolls back, the server hears nothing, and a later delivery sends it once', async () => {
      const id = await newRow('Killed with the row taken');
      await killedAt(id, 'row-taken');
      expect(sink.messages).toHaveLength(0);
      expect(sink.aborted).toHaveLength(0);
      // PostgreSQL ends the dead client's transaction when it notices the connection gone.
      await eventually(async () => (await rowOf(id)).status === 'pending', 5000, 'the taken row to roll back');
      expect(await rowOf(id)).toMatchObject({ status: 'pending', attempts: 0, sent_at: null });
      expect(await deliverOutboxRow(deps(), id)).toMatchObject({ result: 'sent' });
      expect(sink.messages).toHaveLength(1);
    });

    it('of a batch, with the second row taken behind the first row\'s COMMIT: the first sent once, the second rolled back and sent once later', async () => {
      const first = await newRow('Batch: sent before the kill');
      const second = await newRow('Batch: taken, then killed');
      await killedAt(`${first},${second}`, 'next-row-taken');
      expect(sink.messages.map((m) => m.parsed.subject)).toEqual(['Batch: sent before the kill']);
      expect(await rowOf(first)).toMatchObject({ status: 'sent' });
      await eventually(async () => (await rowOf(second)).status === 'pending', 5000, 'the second row to roll back');
      expect(await deliverOutboxRows(deps(), [first, second])).toEqual([{ result: 'skipped', reason: 'sent' }, expect.objectContaining({ result: 'sent' })]);
      expect(sink.messages.map((m) => m.parsed.subject)).toEqual(['Batch: sent before the kill', 'Batch: taken, then killed']);
    });

    // `next-promise-after-commit`: the dot is written by the same call that writes the COMMIT, so
    // no other work of the process (a job's continuation, however long) runs between the two.
    it.each<[DeathMoment, string]>([
      ['after-dot', 'with COMMIT and the dot both written, no answer read'],
      ['next-promise-after-commit', 'in the first promise continuation after the COMMIT, the dot already written'],
    ])('killed %s (%s): delivered once and the row sent, so the retry sends nothing', async (moment) => {
      const id = await newRow(`Killed: ${moment}`);
      await killedAt(id, moment);
      await eventually(async () => sink.messages.length === 1, 5000, 'the message to be kept');
      await eventually(async () => (await rowOf(id)).status === 'sent', 5000, 'the commit');
      expect(sink.aborted).toHaveLength(0);
      expect(await deliverOutboxRow(deps(), id)).toEqual({ result: 'skipped', reason: 'sent' });
      expect(sink.messages).toHaveLength(1);
    });

    it('between the COMMIT and the message with its dot, two writes one after the other (the window that is left): the mail is lost, never doubled', async () => {
      const id = await newRow('Killed between COMMIT and dot');
      await killedAt(id, 'between-commit-and-dot');
      await dataDropped();
      // The message was held back for the dot's write: the server got none of it.
      expect(sink.aborted[0]!.bytes).toBe(0);
      expect(sink.messages).toHaveLength(0);
      await eventually(async () => (await rowOf(id)).status === 'sent', 5000, 'the commit');
      expect(await rowOf(id)).toMatchObject({ smtp_response: null });
      expect(await deliverOutboxRow(deps(), id)).toEqual({ result: 'skipped', reason: 'sent' });
      expect(sink.messages).toHaveLength(0);
    });
  });

  it('a refusal at the end of data undoes the commit: 451 back to pending, 550 failed', async () => {
    const id = await newRow('Refused after the dot');
    sink.refuse(451);
    await expect(deliverOutboxRow(deps(), id)).rejects.toThrow(/451/);
    expect(await rowOf(id)).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringMatching(/451/), sent_at: null });
    sink.refuse(550);
    expect(await deliverOutboxRow(deps(), id)).toMatchObject({ result: 'failed', error: expect.stringMatching(/550/) });
    expect(await rowOf(id)).toMatchObject({ status: 'failed', attempts: 2, last_error: expect.stringMatching(/550/), sent_at: null });
    // Both refusals came after a complete DATA (the dot was sent): nothing aborted, nothing kept.
    expect(sink.aborted).toHaveLength(0);
    expect(sink.messages).toHaveLength(0);
    sink.accept();
    expect(await deliverOutboxRow(deps(), id)).toEqual({ result: 'skipped', reason: 'failed' });

    const retried = await newRow('Refused once, then taken');
    sink.refuse(451);
    await expect(deliverOutboxRow(deps(), retried)).rejects.toThrow(/451/);
    sink.accept();
    expect(await deliverOutboxRow(deps(), retried)).toMatchObject({ result: 'sent' });
    expect(await rowOf(retried)).toMatchObject({ status: 'sent', attempts: 1, last_error: null });
    expect(sink.messages).toHaveLength(1);
  });

  it('a connection lost after the dot, before the answer: the commit is undone and the row retried', async () => {
    const hangUp = await startHangingUpServer();
    const transport = createSmtpTransport(hangUp.url, SUPPORT);
    try {
      const id = await newRow('No answer after the dot');
      await expect(deliverOutboxRow(deps(transport), id)).rejects.toThrow(/closed/i);
      expect(hangUp.dots).toBe(1);
      expect(await rowOf(id)).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringMatching(/closed/i), sent_at: null });
    } finally {
      transport.close();
      await hangUp.stop();
    }
  });

  it('reuses a connection after a clean send, and starts over on a fresh one when the server dropped it while idle', async () => {
    const server = await startServer({ socketTimeout: 500 }); // drops idle connections quickly
    const transport = createSmtpTransport(`smtp://127.0.0.1:${server.port}`, SUPPORT);
    try {
      expect(await deliverOutboxRow(deps(transport), await newRow('Reuse one'))).toMatchObject({ result: 'sent' });
      expect(await deliverOutboxRow(deps(transport), await newRow('Reuse two'))).toMatchObject({ result: 'sent' });
      expect(server.sessions.size).toBe(1);
      await new Promise((r) => setTimeout(r, 1200));
      expect(await deliverOutboxRow(deps(transport), await newRow('After idle drop'))).toMatchObject({ result: 'sent' });
      expect(server.sessions.size).toBe(2);
      expect(server.received).toHaveLength(3);
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('starts over on a fresh connection when a reused one is refused with 421 before the message', async () => {
    const server = await startServer({ closeAfterOneMail: true });
    const transport = createSmtpTransport(`smtp://127.0.0.1:${server.port}`, SUPPORT);
    try {
      expect(await deliverOutboxRow(deps(transport), await newRow('First on its session'))).toMatchObject({ result: 'sent' });
      const id = await newRow('Second, refused on the reused session');
      expect(await deliverOutboxRow(deps(transport), id)).toMatchObject({ result: 'sent' });
      expect(server.sessions.size).toBe(2);
      expect(server.received).toHaveLength(2);
      expect(await rowOf(id)).toMatchObject({ status: 'sent', attempts: 0 });
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('logs in with the user and password of SMTP_URL', async () => {
    const server = await startServer({ auth: { user: 'relay', pass: 's3cret:/@' } });
    const good = createSmtpTransport(`smtp://relay:${encodeURIComponent('s3cret:/@')}@127.0.0.1:${server.port}`, SUPPORT);
    const bad = createSmtpTransport(`smtp://relay:wrong@127.0.0.1:${server.port}`, SUPPORT);
    try {
      expect(await deliverOutboxRow(deps(good), await newRow('Authenticated'))).toMatchObject({ result: 'sent' });
      const refused = await newRow('Wrong password');
      expect(await deliverOutboxRow(deps(bad), refused)).toMatchObject({ result: 'failed', error: expect.stringMatching(/535/) });
      expect(await rowOf(refused)).toMatchObject({ status: 'failed', attempts: 1 });
      expect(server.received).toHaveLength(1);
    } finally {
      good.close();
      bad.close();
      await server.stop();
    }
  });
});

/** An smtp-server on a free port that keeps each message's text (no STARTTLS; AUTH only with `auth`). */
async function startServer(opts: { auth?: { user: string; pass: string }; socketTimeout?: number; closeAfterOneMail?: boolean } = {}) {
  const received: string[] = [];
  const sessions = new Set<string>();
  const server = new SMTPServer({
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    disabledCommands: opts.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    logger: false,
    socketTimeout: opts.socketTimeout,
    onAuth: (auth, _session, callback) => (auth.username === opts.auth?.user && auth.password === opts.auth?.pass ? callback(null, { user: auth.username }) : callback(new Error('535 bad credentials'))),
    onConnect: (session, callback) => void (sessions.add(session.id), callback()),
    // A server that ends sessions after one mail answers the next MAIL FROM with 421.
    onMailFrom: (_from, session, callback) => (opts.closeAfterOneMail && session.transaction > 1 ? callback(Object.assign(new Error('421 closing, one mail per session'), { responseCode: 421 })) : callback()),
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks).toString());
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return { port, received, sessions, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A bare SMTP server that takes a whole message and then closes the connection without answering. */
async function startHangingUpServer(): Promise<{ url: string; dots: number; stop(): Promise<void> }> {
  const state = { dots: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let data = false;
    let buffer = '';
    socket.write('220 hangs-up.test ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      if (data) {
        if (buffer.includes('\r\n.\r\n')) {
          state.dots++;
          socket.destroy();
        }
        return;
      }
      for (let nl = buffer.indexOf('\r\n'); nl !== -1 && !data; nl = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, nl).toUpperCase();
        buffer = buffer.slice(nl + 2);
        if (line.startsWith('EHLO')) socket.write('250-hangs-up.test\r\n250 8BITMIME\r\n');
        else if (line.startsWith('DATA')) {
          data = true;
          socket.write('354 go ahead\r\n');
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    url: `smtp://127.0.0.1:${port}`,
    get dots() {
      return state.dots;
    },
    stop: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
