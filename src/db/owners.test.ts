import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { TABLE_OWNERS } from './owners';
import { sourceFiles } from '../../test/support/source-files';

const SRC = join(__dirname, '..');

interface Write {
  table: string;
  line: number;
}

/** Comments blanked out (their line breaks kept), so prose such as "update cases" is not a write. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|[\s;{}(),])\/\/[^\n]*/g, '$1');
}

/**
 * Every write a source file makes: kysely's insertInto/updateTable/deleteFrom/mergeInto/replaceInto
 * and SQL text (INSERT INTO, UPDATE … SET, DELETE FROM, MERGE INTO, COPY … FROM). A write whose
 * table is not written out (a variable, `${sql.table(x)}`) is reported as table `?`: no owner can be checked.
 */
export function writesIn(source: string): Write[] {
  const text = withoutComments(source);
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const writes: Write[] = [];
  for (const m of text.matchAll(/\.(?:insertInto|updateTable|deleteFrom|mergeInto|replaceInto)\(\s*(?:(['"`])([a-z_]+)(?:\s+as\s+\w+)?\1)?/g)) {
    writes.push({ table: m[2] ?? '?', line: lineAt(m.index) });
  }
  const statements = [
    /\binsert\s+into\s+([a-z_]+)/gi,
    /\bupdate\s+(?:only\s+)?([a-z_]+)(?:\s+(?:as\s+)?[a-z_]+)?\s+set\b/gi,
    /\bdelete\s+from\s+(?:only\s+)?([a-z_]+)/gi,
    /\bmerge\s+into\s+([a-z_]+)/gi,
    /\bcopy\s+([a-z_]+)\s*(?:\([^)]*\))?\s*from\b/gi,
  ];
  for (const pattern of statements) {
    for (const m of text.matchAll(pattern)) writes.push({ table: m[1]!.toLowerCase(), line: lineAt(m.index) });
  }
  // A table name interpolated into SQL text (sql.table(x), sql.raw): no owner can be checked.
  for (const m of text.matchAll(/\b(?:insert\s+into|update(?:\s+only)?|delete\s+from|merge\s+into|copy)\s+\$\{/gi)) writes.push({ table: '?', line: lineAt(m.index) });
  return writes;
}


/** The room of a file: its folder under src/ (`''` for src/app.ts and its neighbours). */
function roomOf(path: string): string {
  const parts = relative(SRC, path).split(sep);
  return parts.length > 1 ? parts[0]! : '';
}

describe('each table has one owner (src/db/owners.ts)', () => {
  const owners: Record<string, string> = TABLE_OWNERS;
  const writes = sourceFiles(SRC).flatMap((path) => writesIn(readFileSync(path, 'utf8')).map((w) => ({ ...w, file: relative(SRC, path), room: roomOf(path) })));

  it('finds writes in the sources (the scan works)', () => {
    expect(writes.length).toBeGreaterThan(50);
  });

  it('writes only tables that have an owner, named by a string literal', () => {
    const unknown = writes.filter((w) => !(w.table in owners)).map((w) => `${w.file}:${w.line} writes ${w.table}`);
    expect(unknown).toEqual([]);
  });

  it('writes each table only from its owner', () => {
    const strays = writes.filter((w) => w.table in owners && owners[w.table] !== w.room).map((w) => `${w.file}:${w.line} writes ${w.table}, owned by ${owners[w.table]}/`);
    expect(strays).toEqual([]);
  });

  it('names only rooms that exist and write what they own', () => {
    const written = new Set(writes.map((w) => `${w.room}:${w.table}`));
    const idle = Object.entries(owners).filter(([table, room]) => !written.has(`${room}:${table}`)).map(([table, room]) => `${room}/ owns ${table} but never writes it`);
    expect(idle).toEqual([]);
  });
});

describe('writesIn', () => {
  it('sees kysely writes however they are laid out, and SQL text', () => {
    const source = [
      "await tx.insertInto('outbox').values(v);",
      'await db',
      '  .updateTable(',
      "    'cases as c'",
      '  ).set(x);',
      'await db.deleteFrom(table).execute();',
      'sql`update cases c set approval_id = 1; insert into case_events (case_id) values (1)`;',
      "const q = `begin; UPDATE outbox SET status = 'sent'`;",
      'sql`delete from rate_events where x`;',
      'sql`update ${sql.table(table)} t set event_id = 1`;',
    ].join('\n');
    expect(writesIn(source)).toEqual([
      { table: 'outbox', line: 1 },
      { table: 'cases', line: 3 },
      { table: '?', line: 6 },
      { table: 'case_events', line: 7 },
      { table: 'cases', line: 7 },
      { table: 'outbox', line: 8 },
      { table: 'rate_events', line: 9 },
      { table: '?', line: 10 },
    ]);
  });

  it('ignores comments and prose', () => {
    const source = [
      '// a retried job finds nothing to update and changes nothing; update cases set x',
      '/* insert into outbox */',
      "const url = 'https://example.com'; // delete from contacts",
      "const words = 'we update the page';",
    ].join('\n');
    expect(writesIn(source)).toEqual([]);
  });
});
