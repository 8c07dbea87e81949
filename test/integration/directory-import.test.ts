import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { createTestApp, type TestApp } from '../support/env';

type DirectoryJson = {
  companies: Array<{
    key: string;
    contacts: Array<{ email: string; name?: string | null; securityContact?: boolean; phone?: string | null }>;
    infrastructures: Array<{ key: string; permissions: Array<{ email: string; role?: string }> }>;
  }>;
};

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

  const importAudit = () =>
    app.ctx.db.selectFrom('audit_log').select(['action', 'subject_email', 'detail']).where('actor', '=', 'directory-import').where('channel', '=', 'import').orderBy('id').execute();

  /** The file of the --replace test above: acme without carol, without carol's and erin's permissions. */
  const replacedAcme = () => {
    const acme = structuredClone(original).companies[0]!;
    acme.contacts = acme.contacts.filter((c) => c.email !== 'carol@acme.test');
    for (const infra of acme.infrastructures) infra.permissions = infra.permissions.filter((p) => p.email !== 'carol@acme.test' && p.email !== 'erin@mail.test');
    return acme;
  };

  it('--replace keeps what was made in the portal or by an approval, and audits every removal and change it makes', async () => {
    const db = app.ctx.db;
    const ids = Object.fromEntries((await db.selectFrom('infrastructures').select(['key', 'id']).execute()).map((i) => [i.key, i.id]));
    const acmeId = (await db.selectFrom('companies').select('id').where('key', '=', 'acme').executeTakeFirstOrThrow()).id;
    const pat = await db.insertInto('contacts').values({ company_id: acmeId, email: 'pat@acme.test', name: 'Pat Portal', company_role: 'member', status: 'pending', source: 'portal' }).returning('id').executeTakeFirstOrThrow();
    const sam = await db.insertInto('contacts').values({ company_id: acmeId, email: 'sam@acme.test', name: null, company_role: 'member', status: 'active', source: 'approval' }).returning('id').executeTakeFirstOrThrow();
    const dave = await db.selectFrom('contacts').select('id').where('email', '=', 'dave@acme.test').executeTakeFirstOrThrow();
    await db
      .insertInto('permissions')
      .values([
        { infrastructure_id: ids['acme-prod']!, contact_id: pat.id, role: 'user', cc_all_cases: false, source: 'portal', granted_by: 'alice@acme.test', granted_via: 'portal' },
        { infrastructure_id: ids['acme-prod']!, contact_id: sam.id, role: 'user', cc_all_cases: false, source: 'approval', granted_by: 'bob@acme.test', granted_via: 'link' },
        { infrastructure_id: ids['acme-dev']!, contact_id: dave.id, role: 'user', cc_all_cases: false, source: 'portal', granted_by: 'bob@acme.test', granted_via: 'portal' },
      ])
      .execute();
    const auditBefore = (await importAudit()).length;

    // The file drops dave (imported, with a permission bob gave him in the portal), renames bob
    // and makes him administrator of acme-dev.
    const acme = replacedAcme();
    acme.contacts = acme.contacts.filter((c) => c.email !== 'dave@acme.test');
    acme.contacts.find((c) => c.email === 'bob@acme.test')!.name = 'Bob B. Builder';
    acme.infrastructures.find((i) => i.key === 'acme-dev')!.permissions = [{ email: 'bob@acme.test', role: 'administrator' }];
    const file = join(dir, 'replace-portal.json');
    await writeFile(file, JSON.stringify({ companies: [acme] }));
    const result = await runCli(['directory', 'import', file, '--replace'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/removed 1 contacts, 1 permissions/); // dave, with his portal-made permission

    const contacts = (await db.selectFrom('contacts').select(['email', 'source']).where('company_id', '=', acmeId).orderBy('email').execute()).map((c) => `${c.email} ${c.source}`);
    expect(contacts).toEqual(['alice@acme.test import', 'bob@acme.test import', 'erin@mail.test import', 'pat@acme.test portal', 'sam@acme.test approval']);
    const kept = await db.selectFrom('permissions').select(['contact_id', 'source', 'granted_by']).where('contact_id', 'in', [pat.id, sam.id]).orderBy('contact_id').execute();
    expect(kept).toEqual([
      { contact_id: pat.id, source: 'portal', granted_by: 'alice@acme.test' },
      { contact_id: sam.id, source: 'approval', granted_by: 'bob@acme.test' },
    ]);

    const rows = (await importAudit()).slice(auditBefore);
    expect(rows.map((r) => [r.action, r.subject_email])).toEqual([
      ['member_updated', 'bob@acme.test'],
      ['permission_changed', 'bob@acme.test'],
      ['permission_revoked', 'dave@acme.test'],
      ['member_removed', 'dave@acme.test'],
      ['replace_kept', null],
    ]);
    expect(rows[0]!.detail).toMatchObject({ fields: ['name'], before: { name: 'Bob Builder' }, after: { name: 'Bob B. Builder' }, source: 'import' });
    expect(rows[1]!.detail).toMatchObject({ infrastructure: 'acme-dev', before: { role: 'user' }, after: { role: 'administrator' } });
    expect(rows[2]!.detail).toMatchObject({ infrastructure: 'acme-dev', before: { role: 'user', source: 'portal', grantedBy: 'bob@acme.test', grantedVia: 'portal' } });
    expect(rows[3]!.detail).toMatchObject({ before: { name: 'Dave No-Permission', companyRole: 'member', source: 'import' } });
    expect(rows[4]!.detail).toMatchObject({
      contacts: [
        { email: 'pat@acme.test', source: 'portal' },
        { email: 'sam@acme.test', source: 'approval' },
      ],
      permissions: expect.arrayContaining([
        { email: 'pat@acme.test', infrastructure: 'acme-prod', source: 'portal' },
        { email: 'sam@acme.test', infrastructure: 'acme-prod', source: 'approval' },
      ]),
    });

    // The same file again changes nothing: only the note of what it keeps.
    expect((await runCli(['directory', 'import', file, '--replace'], env)).stdout).toMatch(/removed 0 contacts, 0 permissions/);
    expect((await importAudit()).slice(auditBefore + rows.length).map((r) => r.action)).toEqual(['replace_kept']);
  });

  it('reads securityContact and phone, keeps what a file leaves out, and audits what it changes', async () => {
    const acme = replacedAcme();
    acme.contacts = acme.contacts.filter((c) => c.email !== 'dave@acme.test');
    acme.infrastructures.find((i) => i.key === 'acme-dev')!.permissions = [{ email: 'bob@acme.test', role: 'administrator' }];
    const alice = acme.contacts.find((c) => c.email === 'alice@acme.test')!;
    alice.securityContact = true;
    alice.phone = '+44 20 7946 0000';
    delete acme.contacts.find((c) => c.email === 'bob@acme.test')!.name;
    const file = join(dir, 'security.json');
    await writeFile(file, JSON.stringify({ companies: [acme] }));
    const auditBefore = (await importAudit()).length;
    expect((await runCli(['directory', 'import', file], env)).code).toBe(0);
    const contact = (email: string) => app.ctx.db.selectFrom('contacts').select(['name', 'security_contact', 'phone']).where('email', '=', email).executeTakeFirstOrThrow();
    expect(await contact('alice@acme.test')).toEqual({ name: 'Alice Admin', security_contact: true, phone: '+44 20 7946 0000' });
    // No name in the file: bob keeps the one he has.
    expect((await contact('bob@acme.test')).name).toBe('Bob B. Builder');
    const rows = (await importAudit()).slice(auditBefore);
    expect(rows).toEqual([
      { action: 'member_updated', subject_email: 'alice@acme.test', detail: expect.objectContaining({ fields: ['securityContact', 'phone'], before: expect.objectContaining({ securityContact: false, phone: null }) }) },
    ]);

    // Left out, they stay (the portal may have set them).
    delete alice.securityContact;
    delete alice.phone;
    await writeFile(file, JSON.stringify({ companies: [acme] }));
    expect((await runCli(['directory', 'import', file], env)).code).toBe(0);
    expect(await contact('alice@acme.test')).toMatchObject({ security_contact: true, phone: '+44 20 7946 0000' });
    expect(await importAudit()).toHaveLength(auditBefore + 1);

    // A security contact needs a phone number, and a phone number must look like one.
    alice.securityContact = true;
    await writeFile(file, JSON.stringify({ companies: [acme] }));
    const noPhone = await runCli(['directory', 'import', file], env);
    expect(noPhone.code).toBe(65);
    expect(noPhone.stderr).toMatch(/companies\.0\.contacts\.0\.phone: a security contact needs a phone number/);
    alice.phone = 'ask reception';
    await writeFile(file, JSON.stringify({ companies: [acme] }));
    const badPhone = await runCli(['directory', 'import', file], env);
    expect(badPhone.code).toBe(65);
    expect(badPhone.stderr).toMatch(/companies\.0\.contacts\.0\.phone: must be a phone number/);
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
