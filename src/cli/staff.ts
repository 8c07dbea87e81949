import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Config } from '../config/config';
import { DomainError } from '../errors';
import { listStaff, removeStaff, setStaffPassword } from '../staff/accounts';
import { EXIT } from './exit-codes';
import { withMigratedDb } from './database';

/** Reads a password without echoing it on a terminal, or the first line of piped input. */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    let input = '';
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      input += chunk.toString('utf8');
      if (input.includes('\n')) break;
    }
    return input.split(/\r?\n/)[0] ?? '';
  }
  const ask = (prompt: string) =>
    new Promise<string>((resolve) => {
      process.stderr.write(prompt);
      const silent = new Writable({ write: (_chunk, _enc, done) => done() });
      const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
      rl.question('', (answer) => {
        rl.close();
        process.stderr.write('\n');
        resolve(answer);
      });
    });
  const first = await ask('Password: ');
  if ((await ask('Again: ')) !== first) throw new DomainError('invalid_input', 'the two passwords differ; nothing was changed');
  return first;
}

/** `staff add EMAIL` */
export async function staffAdd(config: Config, email: string): Promise<number> {
  const password = await readPassword();
  return withMigratedDb(config, async (db) => {
    console.log(`${await setStaffPassword(db, email, password)} ${email.trim().toLowerCase()}`);
    return EXIT.ok;
  });
}

/** `staff remove EMAIL` */
export async function staffRemove(config: Config, email: string): Promise<number> {
  return withMigratedDb(config, async (db) => {
    if (!(await removeStaff(db, email))) throw new DomainError('invalid_input', `no staff account ${email}`);
    console.log(`removed ${email.trim().toLowerCase()}`);
    return EXIT.ok;
  });
}

/** `staff list` */
export async function staffList(config: Config): Promise<number> {
  return withMigratedDb(config, async (db) => {
    const accounts = await listStaff(db);
    if (!accounts.length) console.log('no staff accounts');
    for (const a of accounts) console.log([a.email, a.createdAt.toISOString(), a.lastLoginAt?.toISOString() ?? '-'].join('\t'));
    return EXIT.ok;
  });
}
