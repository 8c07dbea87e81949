/**
 * The bench's outbound SMTP server, run as a child process (`startCountingSink`) so that what
 * the service sends is received, as by a real relay, without the relay's CPU and memory counting
 * as the service's. It accepts everything and only counts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface CountingSink {
  url: string;
  pid: number | undefined;
  count(): Promise<number>;
  stop(): Promise<void>;
}

type Reply = { port: number } | { count: number };

function ask<T extends Reply>(child: ChildProcess, message: string, pick: (r: Reply) => r is T): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: Reply) => {
      if (!pick(reply)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(reply);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`SMTP sink exited (${code})`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (message) child.send(message);
  });
}

export async function startCountingSink(): Promise<CountingSink> {
  const child = fork(join(__dirname, 'sink.js'), ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await ask(child, '', (r): r is { port: number } => 'port' in r);
  return {
    url: `smtp://127.0.0.1:${port}`,
    pid: child.pid,
    count: async () => (await ask(child, 'count', (r): r is { count: number } => 'count' in r)).count,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function serve(): void {
  let received = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('end', () => {
        received++;
        callback();
      });
      stream.resume();
    },
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.server.address();
    process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.on('message', (m) => {
    if (m === 'count') process.send?.({ count: received });
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module && process.argv.includes('--serve')) serve();
