import { MigrationError } from '../db/migrate';
import { DomainError } from '../errors';
import { createDatabaseHint, describeFailure } from './failures';

const context = (command: string) => ({ command, databaseUrl: 'postgres://postgres:s3cret@127.0.0.1:5432/case_intake', redisUrl: 'redis://127.0.0.1:6379' });
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
const missing = () => pgError('3D000', 'database "case_intake" does not exist');

describe('what the command line says about a failure', () => {
  it('says how to create a missing database, from DATABASE_URL, never its password', () => {
    expect(createDatabaseHint('postgres://postgres:s3cret@127.0.0.1:5432/case_intake')).toBe(
      'the database "case_intake" does not exist on 127.0.0.1:5432: create it with `createdb -h 127.0.0.1 -U postgres case_intake && case-intake migrate`',
    );
    expect(createDatabaseHint('postgresql://db.internal:6432/intake')).toBe('the database "intake" does not exist on db.internal:6432: create it with `createdb -h db.internal -p 6432 intake && case-intake migrate`');
    expect(createDatabaseHint('postgres://app%40corp@[::1]/my%20db')).toContain("`createdb -h ::1 -U app@corp 'my db' && case-intake migrate`");
    expect(createDatabaseHint("postgres://u@h/it's")).toContain(`createdb -h h -U u 'it'\\''s'`);
    expect(createDatabaseHint('postgres://postgres:s3cret@127.0.0.1:5432/case_intake')).not.toContain('s3cret');
  });

  it('answers a missing database with the hint: 69, and 75 for ingest (the MTA keeps the message and retries)', () => {
    const hint = createDatabaseHint(context('migrate').databaseUrl);
    expect(describeFailure(missing(), context('migrate'))).toEqual({ message: hint, code: 69 });
    expect(describeFailure(missing(), context('staff list'))).toEqual({ message: hint, code: 69 });
    expect(describeFailure(missing(), context('ingest'))).toEqual({ message: hint, code: 75 });
  });

  it("finds the driver's code under a migration error's cause", () => {
    const err = new MigrationError('migration (unknown) failed: database "case_intake" does not exist', { cause: missing() });
    expect(describeFailure(err, context('start'))).toEqual({ message: createDatabaseHint(context('start').databaseUrl), code: 69 });
  });

  it('says to migrate when the tables are missing, and who cannot be reached', () => {
    expect(describeFailure(pgError('42P01', 'relation "cases" does not exist'), context('quarantine list'))).toEqual({
      message: 'the database has no case-intake tables yet: run `case-intake migrate` first (relation "cases" does not exist)',
      code: 69,
    });
    const refused = describeFailure(pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), context('ingest'));
    expect(refused).toEqual({ message: 'cannot reach PostgreSQL (127.0.0.1:5432): connect ECONNREFUSED 127.0.0.1:5432. Is it running? See README.md, "Troubleshooting".', code: 75 });
    expect(describeFailure(new Error('connect ECONNREFUSED 127.0.0.1:6379'), context('start'))).toMatchObject({ message: expect.stringMatching(/^cannot reach Redis \(redis:\/\/127\.0\.0\.1:6379\)/), code: 69 });
  });

  it('passes domain errors through, and calls anything else a failure of the command', () => {
    expect(describeFailure(new DomainError('invalid_input', 'no message on standard input'), context('ingest'))).toEqual({ message: 'no message on standard input', code: 65 });
    expect(describeFailure(new DomainError('unavailable', 'down'), context('start'))).toEqual({ message: 'down', code: 69 });
    expect(describeFailure(new Error('boom'), context('webhooks list'))).toEqual({ message: 'case-intake webhooks list failed: boom', code: 1 });
    expect(describeFailure(new Error('boom'), context('ingest'))).toEqual({ message: 'case-intake ingest failed: boom', code: 75 });
  });
});
