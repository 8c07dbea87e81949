/**
 * Process and socket plumbing for the throwaway Dovecot servers (test/support/dovecot.ts):
 * signalling and watching an instance's process group, free loopback ports, the IMAP greeting.
 */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

export const HOST = '127.0.0.1';

/** Signals a process group; false when no process of the group exists any more. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

export interface GroupMember {
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
export function groupMembers(pgid: number): GroupMember[] {
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

export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function findFreePort(): Promise<number> {
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
export async function waitForGreeting(port: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
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

export function readFirstLine(port: number, timeoutMs: number): Promise<string> {
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

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
