/**
 * The real `case-intake start --role …` processes of a chaos run: started, killed (-9) and
 * started again, and finally stopped with SIGTERM while their exit is timed. Each process's
 * output goes to a log file of its own in the run's directory (restarts append to it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export interface ProcessSpec {
  name: string;
  roles: string;
  env?: NodeJS.ProcessEnv;
}

export interface Member {
  spec: ProcessSpec;
  child: ChildProcess | null;
  starts: number;
  /** Exits nobody asked for (not our kill -9, not our SIGTERM). */
  unexpectedExits: Array<{ code: number | null; signal: string | null; at: number }>;
  /** Set once the process logged that it started. */
  up: boolean;
}

export class Fleet {
  readonly members: Member[];
  private readonly logs = new Map<string, WriteStream>();
  private readonly expected = new WeakSet<ChildProcess>();
  /** Every kill -9: when, which process, and whether it ran the send queue (a worker). */
  readonly killLog: Array<{ at: number; name: string; worker: boolean }> = [];

  get kills(): number {
    return this.killLog.length;
  }

  constructor(
    private readonly bin: string,
    private readonly cwd: string,
    private readonly baseEnv: NodeJS.ProcessEnv,
    private readonly logDir: string,
    specs: ProcessSpec[],
  ) {
    this.members = specs.map((spec) => ({ spec, child: null, starts: 0, unexpectedExits: [], up: false }));
  }

  private log(name: string): WriteStream {
    let s = this.logs.get(name);
    if (!s) {
      s = createWriteStream(join(this.logDir, `${name}.log`), { flags: 'a' });
      this.logs.set(name, s);
    }
    return s;
  }

  start(member: Member): void {
    const { spec } = member;
    const out = this.log(spec.name);
    out.write(`--- chaos: start #${member.starts + 1} of ${spec.name} (--role ${spec.roles}) at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [this.bin, 'start', '--role', spec.roles], { cwd: this.cwd, env: { ...this.baseEnv, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    member.child = child;
    member.starts++;
    member.up = false;
    let seen = '';
    child.stdout?.on('data', (d: Buffer) => {
      out.write(d);
      if (!member.up && member.child === child) {
        seen = (seen + d.toString()).slice(-4096);
        if (seen.includes('case-intake started')) member.up = true;
      }
    });
    child.stderr?.on('data', (d: Buffer) => out.write(d));
    child.on('exit', (code, signal) => {
      out.write(`--- chaos: ${spec.name} pid ${child.pid} exited (code ${code}, signal ${signal}) at ${new Date().toISOString()}\n`);
      if (!this.expected.has(child)) member.unexpectedExits.push({ code, signal, at: Date.now() });
      if (member.child === child) {
        member.child = null;
        member.up = false;
      }
    });
  }

  startAll(): void {
    for (const m of this.members) this.start(m);
  }

  async waitUp(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.members.every((m) => m.up)) {
      if (Date.now() > deadline) throw new Error(`processes not up within ${timeoutMs} ms: ${this.members.filter((m) => !m.up).map((m) => m.spec.name).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** kill -9 one process and start it again right away; returns its name. */
  async killAndRestart(member: Member): Promise<string> {
    const child = member.child;
    if (child) {
      this.expected.add(child);
      const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode ? resolve() : child.once('exit', () => resolve())));
      child.kill('SIGKILL');
      this.killLog.push({ at: Date.now(), name: member.spec.name, worker: member.spec.roles.split(',').includes('worker') });
      await exited;
    }
    this.start(member);
    return member.spec.name;
  }

  /** Restarts any process that died on its own (recorded in unexpectedExits). */
  reviveDead(): string[] {
    const revived: string[] = [];
    for (const m of this.members) {
      if (!m.child) {
        this.start(m);
        revived.push(m.spec.name);
      }
    }
    return revived;
  }

  unexpectedExits(): number {
    return this.members.reduce((n, m) => n + m.unexpectedExits.length, 0);
  }

  /**
   * SIGTERM to every running process at once; resolves with each one's time to exit and code.
   * A process still running after `hardLimitMs` is killed (and reported as such).
   */
  async terminateAll(hardLimitMs = 30_000): Promise<Array<{ name: string; ms: number; code: number | null; signal: string | null; killed: boolean }>> {
    const running = this.members.filter((m) => m.child);
    return Promise.all(
      running.map(async (m) => {
        const child = m.child!;
        this.expected.add(child);
        const t0 = performance.now();
        const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
        child.kill('SIGTERM');
        let killed = false;
        const timer = setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, hardLimitMs);
        const { code, signal } = await exited;
        clearTimeout(timer);
        return { name: m.spec.name, ms: Math.round(performance.now() - t0), code, signal, killed };
      }),
    );
  }

  /** kill -9 whatever still runs (cleanup). */
  killAll(): void {
    for (const m of this.members) {
      if (m.child) {
        this.expected.add(m.child);
        m.child.kill('SIGKILL');
      }
    }
  }

  async closeLogs(): Promise<void> {
    await Promise.all([...this.logs.values()].map((s) => new Promise<void>((resolve) => s.end(() => resolve()))));
  }
}
