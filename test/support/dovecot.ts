/**
 * A private, throwaway Dovecot IMAP server for integration tests.
 *
 * Every call to `startDovecot()` gets its own temporary directory, its own config, its own
 * `base_dir` and its own loopback port, so parallel jest workers never share state and nothing
 * from /etc/dovecot (or a system Dovecot that the Debian package may have started) is involved.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';

export interface DovecotServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Always 'INBOX': the only mailbox the harness guarantees to exist. */
  mailbox: string;
  /** imap://user:password@127.0.0.1:port/INBOX, with user and password URL-encoded. */
  url: string;
  /** The temporary directory holding config, runtime files, log and mail. */
  dir: string;
  /** Terminates the server and deletes `dir`. Safe to call more than once. */
  stop(): Promise<void>;
  /** Stops the server process (keeping the mail) and starts it again on the same port. */
  restart(): Promise<void>;
}

export interface StartDovecotOptions {
  user?: string;
  password?: string;
}

const DOVECOT_BINARY = '/usr/sbin/dovecot';
const SETPRIV_BINARY = '/usr/bin/setpriv';
const HOST = '127.0.0.1';
const STARTUP_TIMEOUT_MS = 10_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;
const LOG_TAIL_LINES = 30;
/** Process titles of IMAP sessions, as opposed to Dovecot's own services (log, auth, anvil, ...). */
const MAIL_PROCESS_TITLE = /\/imap(\s|\0|$)/;
/** Dovecot's default auth_username_chars; anything else would be silently rejected at login. */
const SAFE_USERNAME = /^[A-Za-z0-9._@-]+$/;

interface SystemUser {
  name: string;
  uid: number;
  gid: number;
}

/** Which accounts the Dovecot processes run as; differs between running as root and not. */
interface Accounts {
  mail: SystemUser;
  internal: SystemUser;
  login: SystemUser;
  runningAsRoot: boolean;
}

export async function startDovecot(opts: StartDovecotOptions = {}): Promise<DovecotServer> {
  if (!existsSync(DOVECOT_BINARY)) {
    throw new Error(
      `${DOVECOT_BINARY} not found: the IMAP integration tests need Dovecot. ` +
        'Install it with `bash scripts/ensure-dovecot.sh`.',
    );
  }
  const user = opts.user ?? 'intake';
  const password = opts.password ?? 'intake-password';
  if (!SAFE_USERNAME.test(user)) {
    throw new Error(`startDovecot: user ${JSON.stringify(user)} must match ${String(SAFE_USERNAME)}`);
  }

  const accounts = resolveAccounts();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dovecot-test-'));
  try {
    // mkdtemp gives 0700 and Dovecot's unprivileged processes (auth reads the passwd-file, imap
    // opens the maildir) must be able to traverse into it.
    await chmod(dir, 0o755);
    const homeDir = path.join(dir, 'home');
    await mkdir(homeDir);
    // Dovecot refuses to serve mail as uid 0, so the mail processes run as an unprivileged
    // account that has to own its home/maildir.
    await chown(homeDir, accounts.mail.uid, accounts.mail.gid);
    await mkdir(path.join(dir, 'state'));
    await writeFile(
      path.join(dir, 'users'),
      // {PLAIN.b64} lets the password contain ':' (the passwd-file separator) or anything else.
      `${user}:{PLAIN.b64}${Buffer.from(password, 'utf8').toString('base64')}:` +
        `${accounts.mail.uid}:${accounts.mail.gid}::${homeDir}::\n`,
      { mode: 0o644 },
    );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  // The port is only reserved until we close the probe socket, so another process can grab it
  // before Dovecot binds; retrying with a fresh port makes that race harmless.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await findFreePort();
    await writeFile(path.join(dir, 'dovecot.conf'), renderConfig(dir, port, accounts));
    const instance = new DovecotInstance(dir, port);
    try {
      await instance.start();
    } catch (err) {
      lastError = err;
      await instance.kill();
      if (err instanceof DovecotStartError && err.addressInUse) continue;
      break;
    }
    return instance.toServer(user, password);
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/**
 * Appends a message to INBOX over a separate connection, as a mail delivery would, and returns
 * the UID the server reported (Dovecot supports UIDPLUS).
 */
export async function appendMessage(
  server: DovecotServer,
  raw: string | Buffer,
  flags?: string[],
): Promise<number> {
  const client = new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    auth: { user: server.user, pass: server.password },
    logger: false,
  });
  await client.connect();
  try {
    const result = await client.append(server.mailbox, raw, flags);
    if (result === false || result.uid === undefined) {
      throw new Error(`APPEND to ${server.mailbox} did not report a UID: ${JSON.stringify(result)}`);
    }
    return result.uid;
  } finally {
    await client.logout().catch(() => client.close());
  }
}

class DovecotStartError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
    this.name = 'DovecotStartError';
  }
}

class DovecotInstance {
  private child: ChildProcess | undefined;
  private stderr = '';
  private stopped = false;

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  async start(): Promise<void> {
    const confPath = path.join(this.dir, 'dovecot.conf');
    // -F keeps the master in the foreground as our child, so we hold its pid without pid files.
    // setpriv --pdeathsig makes the kernel SIGTERM it if the jest worker dies without cleanup
    // (e.g. SIGKILL on timeout), which the process 'exit' hook cannot cover.
    const [command, args] = existsSync(SETPRIV_BINARY)
      ? [SETPRIV_BINARY, ['--pdeathsig', 'TERM', DOVECOT_BINARY, '-F', '-c', confPath]]
      : [DOVECOT_BINARY, ['-F', '-c', confPath]];
    this.stderr = '';
    // detached gives Dovecot its own process group, so kill() can find and signal every process
    // of this instance (and only this one) without pid files.
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    // Config errors are printed before the log file is opened, so stderr is part of diagnostics.
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.captureStderr(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.captureStderr(chunk));
    trackForExit(this);

    const giveUp = new AbortController();
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) =>
        resolve(`dovecot exited early (code ${code}, signal ${signal})`),
      );
      child.once('error', (err) => resolve(`could not spawn dovecot: ${err.message}`));
    });
    const outcome = await Promise.race([
      waitForGreeting(this.port, STARTUP_TIMEOUT_MS, giveUp.signal).then(
        () => undefined,
        (err: unknown) =>
          `no IMAP greeting on ${HOST}:${this.port} within ${STARTUP_TIMEOUT_MS} ms: ${errorMessage(err)}`,
      ),
      exited,
    ]);
    giveUp.abort();
    if (outcome !== undefined) {
      const diagnostics = await this.diagnostics();
      throw new DovecotStartError(
        `Dovecot failed to start: ${outcome}\n${diagnostics}`,
        /address already in use/i.test(diagnostics),
      );
    }
  }

  /** Terminates the whole process group and waits until none of its processes is left. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    liveInstances.delete(this);
    const group = child?.pid;
    if (group === undefined) return;
    const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS;

    // The mail sessions go first. If the master's SIGTERM handler still finds a session process
    // alive, it sends it SIGQUIT and then sleeps a fixed second, which made every other stop or
    // restart with a connected client a second slower.
    const sessions = new Set(
      groupMembers(group)
        .filter((p) => p.pid !== group && p.live && MAIL_PROCESS_TITLE.test(p.title))
        .map((p) => p.pid),
    );
    for (const pid of sessions) signalProcess(pid, 'SIGTERM');
    while (sessions.size > 0 && Date.now() < deadline) {
      if (!groupMembers(group).some((p) => p.live && sessions.has(p.pid))) break;
      await delay(10);
    }

    // Signalling the whole group rather than the master alone: the master leaves sessions that
    // are busy with a client running, so an idling client would never notice the restart.
    signalGroup(group, 'SIGTERM');
    // Waiting for the group (not just the master) keeps the port and maildir free of stragglers
    // before restart() starts a new master or stop() deletes the directory.
    while (groupMembers(group).some((p) => p.live)) {
      if (Date.now() > deadline) {
        signalGroup(group, 'SIGKILL');
        break;
      }
      await delay(20);
    }
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    }
  }

  toServer(user: string, password: string): DovecotServer {
    return {
      host: HOST,
      port: this.port,
      user,
      password,
      mailbox: 'INBOX',
      url: `imap://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${HOST}:${this.port}/INBOX`,
      dir: this.dir,
      stop: async () => {
        if (this.stopped) return;
        this.stopped = true;
        await this.kill();
        await rm(this.dir, { recursive: true, force: true });
      },
      restart: async () => {
        if (this.stopped) throw new Error('restart() called after stop()');
        await this.kill();
        // A stale master.pid would make the new master think it is already running.
        await rm(path.join(this.dir, 'run', 'master.pid'), { force: true });
        try {
          await this.start();
        } catch (err) {
          await this.kill();
          throw err;
        }
      },
    };
  }

  /** Synchronous, for the process 'exit' hook where no promise will ever settle. */
  killNow(): void {
    if (this.child?.pid !== undefined) signalGroup(this.child.pid, 'SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private captureStderr(chunk: string): void {
    this.stderr = (this.stderr + chunk).slice(-8192);
  }

  private async diagnostics(): Promise<string> {
    const log = await readFile(path.join(this.dir, 'dovecot.log'), 'utf8').catch(() => '');
    const tail = log.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
    return [
      this.stderr.trim() && `--- dovecot stderr ---\n${this.stderr.trim()}`,
      `--- tail of ${path.join(this.dir, 'dovecot.log')} ---\n${tail || '(empty)'}`,
    ]
      .filter(Boolean)
      .join('\n');
  }
}

const liveInstances = new Set<DovecotInstance>();
let exitHookInstalled = false;

/**
 * Last resort when a test forgets stop(): a Dovecot outliving jest would keep its port and tmp
 * dir. One shared hook, so many servers do not trip the MaxListeners warning.
 */
function trackForExit(instance: DovecotInstance): void {
  liveInstances.add(instance);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const live of liveInstances) live.killNow();
  });
}

function renderConfig(dir: string, port: number, accounts: Accounts): string {
  const { mail, internal, login, runningAsRoot } = accounts;
  // Without root, nothing can chroot or switch users, so every process runs as ourselves.
  const noChroot = runningAsRoot ? '' : '\n  chroot =';
  // Unix sockets are chowned to this group, which only root may do for a group it is not in.
  const internalGroup = runningAsRoot ? '' : `\ndefault_internal_group = ${groupName(internal.gid)}`;
  return `# Generated by test/support/dovecot.ts for a single test run.
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = dovecot-test-${port}
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
debug_log_path = ${dir}/dovecot.log

protocols = imap
listen = ${HOST}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests that try a wrong password should not wait the default 2 s (Dovecot still flushes
# failures on a 0.5 s timer, so a failed login takes about half a second).
auth_failure_delay = 0
auth_cache_size = 0

default_internal_user = ${internal.name}
default_login_user = ${login.name}${internalGroup}
# Only our one mail account may be used; first_valid_uid defaults to 500, which would reject
# system accounts such as nobody or mail.
first_valid_uid = ${mail.uid}
last_valid_uid = ${mail.uid}
first_valid_gid = ${mail.gid}
last_valid_gid = ${mail.gid}

passdb {
  driver = passwd-file
  args = ${dir}/users
}
userdb {
  driver = passwd-file
  args = ${dir}/users
}

mail_location = maildir:~/Maildir
# Throwaway data: durability only slows appends down.
mail_fsync = never
# IDLE clients learn about new mail within ~1 s even when inotify is unavailable.
mailbox_idle_check_interval = 1 secs

service imap-login {
  inet_listener imap {
    address = ${HOST}
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }${noChroot}
}
service anvil {${noChroot}
  # Without the penalty socket, repeated failed logins from 127.0.0.1 are not delayed by up to
  # 15 s each; tests of wrong credentials run back to back.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}

function resolveAccounts(): Accounts {
  const runningAsRoot = process.getuid?.() === 0;
  if (!runningAsRoot) {
    const me = os.userInfo();
    const self = { name: me.username, uid: me.uid, gid: me.gid };
    return { mail: self, internal: self, login: self, runningAsRoot };
  }
  const users = readPasswd();
  const pick = (names: string[], purpose: string): SystemUser => {
    for (const name of names) {
      const found = users.get(name);
      if (found && found.uid !== 0) return found;
    }
    throw new Error(
      `startDovecot: no system user for ${purpose} (tried ${names.join(', ')}) in /etc/passwd`,
    );
  };
  return {
    // Any existing unprivileged account works; it only needs to own the temp maildir.
    mail: pick(['nobody', 'mail'], 'mail access'),
    // Created by the Dovecot package; running as root requires real internal/login accounts.
    internal: pick(['dovecot'], 'default_internal_user'),
    login: pick(['dovenull', 'nobody'], 'default_login_user'),
    runningAsRoot,
  };
}

function groupName(gid: number): string {
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const [name, , id] = line.split(':');
    if (name && Number(id) === gid) return name;
  }
  throw new Error(`startDovecot: gid ${gid} has no name in /etc/group`);
}

function readPasswd(): Map<string, SystemUser> {
  const users = new Map<string, SystemUser>();
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name && uid !== undefined && gid !== undefined) {
      users.set(name, { name, uid: Number(uid), gid: Number(gid) });
    }
  }
  return users;
}

/** Signals a process group; false when no process of the group exists any more. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

interface GroupMember {
  pid: number;
  /** False for zombies, which still count for kill(-pgid, 0). */
  live: boolean;
  /** Dovecot rewrites argv to titles like "dovecot-test-12345/imap". */
  title: string;
}

/**
 * Members of a process group, read from /proc. Zombies matter: the imap processes orphaned by the
 * master's exit are reaped by whatever runs as PID 1, which in some containers takes seconds.
 * Without /proc (not Linux) it degrades to "the group exists", with an unknown title.
 */
function groupMembers(pgid: number): GroupMember[] {
  if (!signalGroup(pgid, 0)) return [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [{ pid: pgid, live: true, title: '' }];
  }
  const members: GroupMember[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Format: "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const live = fields[0] !== 'Z' && fields[0] !== 'X';
      const title = live ? readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0+$/, '') : '';
      members.push({ pid: Number(entry), live, title });
    } catch {
      continue; // exited while we were looking
    }
  }
  return members;
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      probe.close(() =>
        port === undefined ? reject(new Error('could not read probe port')) : resolve(port),
      );
    });
  });
}

/** Polls until the server sends an IMAP greeting; the listener exists before login processes do. */
async function waitForGreeting(port: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = new Error('timed out');
  while (Date.now() < deadline && !signal.aborted) {
    try {
      const line = await readFirstLine(port, Math.max(100, deadline - Date.now()));
      if (line.startsWith('* OK')) return;
      lastError = new Error(`unexpected greeting ${JSON.stringify(line)}`);
    } catch (err) {
      lastError = err;
    }
    await delay(50);
  }
  throw lastError;
}

function readFirstLine(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    let buffered = '';
    let done = false;
    const finish = (err: Error | undefined, line?: string): void => {
      if (done) return;
      done = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(line ?? '');
    };
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => finish(new Error('timed out waiting for greeting')));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\r\n');
      if (end !== -1) finish(undefined, buffered.slice(0, end));
    });
    socket.once('error', (err) => finish(err));
    socket.once('end', () => finish(new Error('connection closed before greeting')));
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
