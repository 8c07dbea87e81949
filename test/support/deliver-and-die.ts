/**
 * For the outbox delivery test: delivers outbox rows as the send worker does and kills its own
 * process with SIGKILL at a chosen moment, so the test sees what a kill -9 there leaves behind.
 *
 *   node dist/test/support/deliver-and-die.js <DATABASE_URL> <SMTP_URL> <outbox id>[,<id>...] <moment>
 *
 * moment: `row-taken` (the row `sent` in a transaction not yet committed, nothing sent),
 * `in-data` (the server answered DATA with 354, nothing of the message written, the row taken),
 * `between-commit-and-dot` (COMMIT written, the message and its dot not: the window that is
 * left), `next-promise-after-commit` (in the first promise continuation after the COMMIT's
 * write), `after-dot` (both written, neither answer read), `after-answer` (the server answered
 * 250, its answer not yet recorded) or `next-row-taken` (of a batch of two: the first sent, the
 * second taken with its COMMIT and not yet sent).
 */
import pino from 'pino';
import { createDb, createPool } from '../../src/db/connection';
import { deliverOutboxRows } from '../../src/mail/deliver';
import { OutboxSealer } from '../../src/mail/sealed-secrets';
import { createSmtpTransport, type MailTransport } from '../../src/mail/transport';
import { testConfig } from './env';

export type DeathMoment = 'row-taken' | 'in-data' | 'between-commit-and-dot' | 'next-promise-after-commit' | 'after-dot' | 'after-answer' | 'next-row-taken';

const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('still alive after SIGKILL');
};

async function main(databaseUrl: string, smtpUrl: string, ids: string[], moment: DeathMoment): Promise<void> {
  const db = createDb(databaseUrl, { max: 1 });
  const real = createSmtpTransport(smtpUrl, 'support@support.example.com');
  let sends = 0;
  const transport: MailTransport = {
    async send(row, point) {
      if (moment === 'row-taken') die();
      if (moment === 'next-row-taken' && ++sends === 2) die();
      const outcome = await real.send(row, {
        commit(writeTheDot) {
          if (moment === 'in-data') die();
          const committing = point.commit(() => {
            if (moment === 'between-commit-and-dot') die();
            writeTheDot();
          });
          // Whatever promise continuation the process runs next (a match job's, say).
          if (moment === 'next-promise-after-commit') void Promise.resolve().then(die);
          // The socket is written to synchronously; an immediate runs after the write returned.
          if (moment === 'after-dot') setImmediate(die);
          return committing;
        },
      });
      if (moment === 'after-answer') die();
      return outcome;
    },
    close: () => real.close(),
  };
  const sealer = new OutboxSealer([testConfig(databaseUrl).linkSecret]);
  await deliverOutboxRows({ db, commitPool: createPool(databaseUrl, { max: 2 }), transport, sealer, log: pino({ level: 'silent' }) }, ids);
  throw new Error(`delivered without reaching ${moment}`);
}

if (require.main === module) {
  const [databaseUrl, smtpUrl, ids, moment] = process.argv.slice(2);
  main(databaseUrl!, smtpUrl!, ids!.split(','), moment as DeathMoment).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
