import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Config } from '../config/config';
import { createDb } from '../db/connection';
import { migrateToLatest } from '../db/migrate';
import { DomainError } from '../errors';
import { listStaff, removeStaff, setStaffPassword } from '../staff/accounts';
import { UsageError } from './usage-error';

export const STAFF_USAGE = `  staff add EMAIL                  add a dashboard account, or set a new password for one
                                   (prompted twice on a terminal, else the first line of
                                   standard input); a new password ends its sessions
  staff remove EMAIL               remove an account and end its sessions
  staff list                       list accounts (email, created, last sign-in)`;

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

export async function staffCommand(args: string[], config: Config): Promise<number> {
  const [sub, email, ...extra] = args;
  if (extra.length || !sub || (sub !== 'list' && !email) || (sub === 'list' && email)) throw new UsageError(`usage:\n${STAFF_USAGE}`);
  const password = sub === 'add' ? await readPassword() : '';
  const db = createDb(config.databaseUrl, { max: 1 });
  try {
    await migrateToLatest(db);
    switch (sub) {
      case 'add':
        console.log(`${await setStaffPassword(db, email!, password)} ${email!.trim().toLowerCase()}`);
        return 0;
      case 'remove':
        if (!(await removeStaff(db, email!))) throw new DomainError('invalid_input', `no staff account ${email!}`);
        console.log(`removed ${email!.trim().toLowerCase()}`);
        return 0;
      case 'list': {
        const accounts = await listStaff(db);
        if (!accounts.length) console.log('no staff accounts');
        for (const a of accounts) console.log([a.email, a.createdAt.toISOString(), a.lastLoginAt?.toISOString() ?? '-'].join('\t'));
        return 0;
      }
      default:
        throw new UsageError(`unknown staff command "${sub}"\nusage:\n${STAFF_USAGE}`);
    }
  } finally {
    await db.destroy();
  }
}
