import { checkStaffLogin } from '../../src/staff/accounts';
import { startStaffSession, findStaffSession } from '../../src/staff/sessions';
import { runCli } from '../support/cli';
import { cliEnv, createTestApp, type TestApp } from '../support/env';

describe('case-intake staff (accounts for the dashboard)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('adds an account with the password from standard input, stored only as an argon2id hash', async () => {
    const r = await runCli(['staff', 'add', 'Agent@Support.Example.com'], cliEnv(app), 'a long enough password\nignored second line\n');
    expect([r.code, r.stdout.trim()]).toEqual([0, 'added agent@support.example.com']);
    const row = await app.ctx.db.selectFrom('staff_accounts').select('password_hash').where('email', '=', 'agent@support.example.com').executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain('a long enough password');
    expect(await checkStaffLogin(app.ctx.db, 'agent@support.example.com', 'a long enough password')).toMatchObject({ email: 'agent@support.example.com' });
    expect(await checkStaffLogin(app.ctx.db, 'agent@support.example.com', 'ignored second line')).toBeNull();
  });

  it('sets a new password on an existing account and ends its sessions', async () => {
    const staff = await checkStaffLogin(app.ctx.db, 'agent@support.example.com', 'a long enough password');
    const session = await startStaffSession(app.ctx.db, staff!.id, 60_000);
    const r = await runCli(['staff', 'add', 'agent@support.example.com'], cliEnv(app), 'another long password\n');
    expect([r.code, r.stdout.trim()]).toEqual([0, 'updated agent@support.example.com']);
    expect(await findStaffSession(app.ctx.db, session.token)).toBeUndefined();
    expect(await checkStaffLogin(app.ctx.db, 'agent@support.example.com', 'a long enough password')).toBeNull();
  });

  it('refuses a short password and a malformed address with exit 65, changing nothing', async () => {
    const short = await runCli(['staff', 'add', 'new@support.example.com'], cliEnv(app), 'short\n');
    expect(short.code).toBe(65);
    expect(short.stderr).toMatch(/at least 12 characters/);
    const bad = await runCli(['staff', 'add', 'not-an-address'], cliEnv(app), 'a long enough password\n');
    expect(bad.code).toBe(65);
    const list = await runCli(['staff', 'list'], cliEnv(app));
    expect(list.stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(['agent@support.example.com']);
  });

  it('removes an account; usage errors exit 64', async () => {
    expect((await runCli(['staff', 'remove', 'agent@support.example.com'], cliEnv(app))).code).toBe(0);
    expect((await runCli(['staff', 'remove', 'agent@support.example.com'], cliEnv(app))).code).toBe(65);
    expect((await runCli(['staff'], cliEnv(app))).code).toBe(64);
    expect((await runCli(['staff', 'add'], cliEnv(app))).code).toBe(64);
  });
});
