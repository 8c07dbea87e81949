import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { createTestApp, type TestApp } from '../support/env';

type DirectoryJson = { companies: Array<{ key: string; contacts: Array<{ email: string }>; infrastructures: Array<{ key: string; permissions: Array<{ email: string }> }> }> };

describe('case-intake directory import', () => {
  let app: TestApp;
  let dir: string;
  let env: Record<string, string>;
  let original: DirectoryJson;

  beforeAll(async () => {
    app = await createTestApp();
    dir = await mkdtemp(join(tmpdir(), 'directory-'));
    env = { DATABASE_URL: app.database.url, LOG_LEVEL: 'silent' };
    original = JSON.parse(await readFile(join(__dirname, '../../fixtures/directory.json'), 'utf8')) as DirectoryJson;
  });
  afterAll(() => app.close());

  const counts = async () => {
    const db = app.ctx.db;
    const n = async (table: 'companies' | 'infrastructures' | 'contacts' | 'permissions' | 'infrastructure_addresses') =>
      Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    return { companies: await n('companies'), infrastructures: await n('infrastructures'), contacts: await n('contacts'), permissions: await n('permissions'), addresses: await n('infrastructure_addresses') };
  };

  it('imports the file, and importing it again changes nothing', async () => {
    const file = join(__dirname, '../../fixtures/directory.json');
    const first = await runCli(['directory', 'import', file], env);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/imported 3 companies, 5 infrastructures, 6 contacts, 4 permissions/);
    const after = await counts();
    expect(after).toEqual({ companies: 3, infrastructures: 5, contacts: 6, permissions: 4, addresses: 3 });
    expect((await runCli(['directory', 'import', file], env)).code).toBe(0);
    expect(await counts()).toEqual(after);
  });

  it('stores emails lower-cased and keeps contacts the file does not mention without --replace', async () => {
    const edited = structuredClone(original);
    const acme = edited.companies[0]!;
    acme.contacts = acme.contacts.filter((c) => c.email !== 'dave@acme.test');
    acme.contacts.push({ email: 'New.Person@ACME.test' });
    const file = join(dir, 'partial.json');
    await writeFile(file, JSON.stringify(edited));
    expect((await runCli(['directory', 'import', file], env)).code).toBe(0);
    const emails = (await app.ctx.db.selectFrom('contacts').select('email').execute()).map((r) => r.email);
    expect(emails).toEqual(expect.arrayContaining(['dave@acme.test', 'new.person@acme.test']));
  });

  it('--replace removes the contacts and permissions a listed company no longer lists, and leaves other companies alone', async () => {
    const edited = structuredClone(original);
    const acme = edited.companies[0]!;
    acme.contacts = acme.contacts.filter((c) => c.email !== 'carol@acme.test');
    for (const infra of acme.infrastructures) infra.permissions = infra.permissions.filter((p) => p.email !== 'carol@acme.test' && p.email !== 'erin@mail.test');
    edited.companies = [acme]; // globex and initech are not listed: --replace must not touch them
    const file = join(dir, 'replace.json');
    await writeFile(file, JSON.stringify(edited));
    const result = await runCli(['directory', 'import', file, '--replace'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/removed 2 contacts, 2 permissions/); // carol and new.person; carol's and erin's permissions
    const emails = (await app.ctx.db.selectFrom('contacts').select('email').orderBy('email').execute()).map((r) => r.email);
    expect(emails).toEqual(['alice@acme.test', 'bob@acme.test', 'dave@acme.test', 'erin@mail.test', 'gina@globex.test']);
    expect((await counts()).permissions).toBe(2);
  });

  it('rejects an inconsistent file with every problem listed, and changes nothing', async () => {
    const before = await counts();
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({
        companies: [
          { key: 'acme', name: 'Acme', contacts: [{ email: 'not-an-email' }], infrastructures: [{ key: 'x', name: 'X', permissions: [{ email: 'ghost@acme.test', role: 'user' }] }] },
          { key: 'acme', name: 'Acme again', infrastructures: [{ key: 'x', name: 'X', permissions: [{ email: 'a@b.test', role: 'owner' }] }] },
        ],
      }),
    );
    const result = await runCli(['directory', 'import', file], env);
    expect(result.code).toBe(65);
    expect(result.stderr).toMatch(/companies\.0\.contacts\.0\.email/);
    expect(result.stderr).toMatch(/companies\.1\.infrastructures\.0\.permissions\.0\.role/);
    expect(await counts()).toEqual(before);
  });

  it('explains a usage mistake', async () => {
    const result = await runCli(['directory', 'import'], env);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/usage: case-intake directory import FILE/);
  });
});
