/**
 * For the outbox delivery test: delivers one outbox row as the send worker does and kills its own
 * process with SIGKILL at a chosen moment, so the test sees what a kill -9 there leaves behind.
 *
 *   node dist/test/support/deliver-and-die.js <DATABASE_URL> <SMTP_URL> <outbox id> <moment>
 *
 * moment: `before-commit` (in DATA, the message sent, the row not yet taken), `row-taken` (the row
 * `sent` in a transaction not yet committed), `between-commit-and-dot` (COMMIT written, the dot
 * not: the window that is left), `next-promise-after-commit` (in the first promise continuation
 * after the COMMIT's write), `after-dot` (both written, neither answer read) or
 * `after-answer` (the server answered 250, its answer not yet recorded).
 */
import pino from 'pino';
import { createDb, createPool } from '../../src/db/connection';
import { deliverOutboxRow } from '../../src/mail/deliver';
import { createSmtpTransport, type MailTransport } from '../../src/mail/transport';

export type DeathMoment = 'before-commit' | 'row-taken' | 'between-commit-and-dot' | 'next-promise-after-commit' | 'after-dot' | 'after-answer';

const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('still alive after SIGKILL');
};

async function main(databaseUrl: string, smtpUrl: string, id: string, moment: DeathMoment): Promise<void> {
  const db = createDb(databaseUrl, { max: 1 });
  const real = createSmtpTransport(smtpUrl, 'support@support.example.com');
  const transport: MailTransport = {
    async send(row, point) {
      const outcome = await real.send(row, {
        async take() {
          if (moment === 'before-commit') die();
          const go = await point.take();
          if (moment === 'row-taken') die();
          return go;
        },
        commit() {
          const committing = point.commit();
          if (moment === 'between-commit-and-dot') die();
          // Whatever promise continuation the process runs next (a match job's, say).
          if (moment === 'next-promise-after-commit') void Promise.resolve().then(die);
          // The transport writes the dot in process.nextTick steps; an immediate runs after them.
          if (moment === 'after-dot') setImmediate(die);
          return committing;
        },
        abandon: () => point.abandon(),
      });
      if (moment === 'after-answer') die();
      return outcome;
    },
    close: () => real.close(),
  };
  await deliverOutboxRow({ db, commitPool: createPool(databaseUrl, { max: 1 }), transport, log: pino({ level: 'silent' }) }, id);
  throw new Error(`delivered without reaching ${moment}`);
}

if (require.main === module) {
  const [databaseUrl, smtpUrl, id, moment] = process.argv.slice(2);
  main(databaseUrl!, smtpUrl!, id!, moment as DeathMoment).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
