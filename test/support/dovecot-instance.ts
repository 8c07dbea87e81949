/**
 * One running throwaway Dovecot (see dovecot.ts): its master process and process group, started
 * in the foreground, stopped with every session gone, and a last-resort cleanup at exit.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DovecotServer } from './dovecot';
import { delay, errorMessage, groupMembers, HOST, signalGroup, signalProcess, waitForGreeting } from './dovecot-process';

export const DOVECOT_BINARY = '/usr/sbin/dovecot';
const DOVEADM_BINARY = '/usr/bin/doveadm';
const SETPRIV_BINARY = '/usr/bin/setpriv';
const STARTUP_TIMEOUT_MS = 10_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;
const LOG_TAIL_LINES = 30;
/** Process titles of IMAP sessions, as opposed to Dovecot's own services (log, auth, anvil, ...). */
const MAIL_PROCESS_TITLE = /\/imap(\s|\0|$)/;
/** doveadm's exit code when there was nothing to act on (DOVEADM_EX_NOTFOUND): here, no session. */
const DOVEADM_NOT_FOUND = 68;
const run = promisify(execFile);

export class DovecotStartError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
    this.name = 'DovecotStartError';
  }
}

export class DovecotInstance {
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

  toServer(user: string, password: string, auth: DovecotServer['auth'], mint?: () => string): DovecotServer {
    const userinfo = auth === 'oauth2' ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
    return {
      host: HOST,
      port: this.port,
      user,
      password,
      auth,
      mailbox: 'INBOX',
      url: `imap://${userinfo}@${HOST}:${this.port}/INBOX`,
      dir: this.dir,
      harnessToken: mint,
      kick: (who = user) => this.kick(who),
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

  /** doveadm finds the sessions through this instance's anvil, so it needs the instance's config. */
  async kick(user: string): Promise<boolean> {
    if (this.stopped) throw new Error('kick() called after stop()');
    try {
      await run(DOVEADM_BINARY, ['-c', path.join(this.dir, 'dovecot.conf'), 'kick', user]);
      return true;
    } catch (err) {
      const { code, stderr } = err as { code?: number; stderr?: string };
      if (code === DOVEADM_NOT_FOUND) return false;
      throw new Error(`doveadm kick ${user} failed (exit ${code}): ${(stderr ?? '').trim()}`);
    }
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
