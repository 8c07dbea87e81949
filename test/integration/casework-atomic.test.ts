import { sql } from 'kysely';
import { startTestService, type TestService } from '../support/service';

const TOKEN = 'casework-atomic-token-0123456789';

/**
 * Every casework change writes its rows (the case, its message or note, its mail, its case
 * events) in one transaction. A failing insert is made real with a trigger that refuses one kind
 * of row, as a full disk or a broken constraint would: the whole change must be gone, and the
 * API must queue no mail for it.
 */
describe('casework changes are all or nothing (PostgreSQL triggers refusing one insert)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ API_TOKEN: TOKEN });
    await sql`create function refuse_row() returns trigger language plpgsql as $$ begin raise exception 'refused by the test: % %', tg_table_name, tg_argv[0]; end $$`.execute(t.app.ctx.db);
  });
  afterAll(() => t.close());

  const db = () => t.app.ctx.db;
  const call = async (method: string, url: string, body: unknown) => {
    const res = await fetch(t.base + url, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** Everything a change may write for a case. */
  const snapshot = async (ref: string) => {
    const c = await db().selectFrom('cases').select(['id', 'status', 'resolved_at', 'first_response_at', 'assignee_id']).where('reference', '=', ref).executeTakeFirstOrThrow();
    const count = async (table: 'messages' | 'outbox' | 'case_events' | 'case_notes') =>
      Number((await db().selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).where('case_id', '=', c.id).executeTakeFirstOrThrow()).n);
    return { ...c, messages: await count('messages'), outbox: await count('outbox'), events: await count('case_events'), notes: await count('case_notes') };
  };
  /** Runs `work` while inserts of `table` rows whose `column` is `value` fail. */
  const refusing = async <T>(table: 'outbox' | 'case_events', column: 'kind', value: string, work: () => Promise<T>): Promise<T> => {
    await sql`create trigger refuse_test before insert on ${sql.table(table)} for each row when (new.${sql.ref(column)} = ${sql.lit(value)}) execute function refuse_row(${sql.lit(value)})`.execute(db());
    try {
      return await work();
    } finally {
      await sql`drop trigger refuse_test on ${sql.table(table)}`.execute(db());
    }
  };
  /** Erin's case (Bob has "CC in all cases" there), matched open and acknowledged. */
  const openCase = async (subject: string) => {
    const ref = await t.write('erin@mail.test', subject);
    await t.caseIn(ref, 'open');
    return ref;
  };

  it('a reply whose mail cannot be written leaves no message, event, status or first response', async () => {
    const ref = await openCase('Atomic reply');
    const before = await snapshot(ref);
    const res = await refusing('outbox', 'kind', 'staff_reply', () => call('POST', `/api/cases/${ref}/replies`, { text: 'Done.', status: 'solved' }));
    expect(res).toEqual({ status: 500, body: { error: 'internal', message: expect.stringMatching(/^internal error/) } });
    expect(await snapshot(ref)).toEqual(before);
    // Nothing of it stayed behind: the same reply now goes through, and is the first response.
    const again = await call('POST', `/api/cases/${ref}/replies`, { text: 'Done.', status: 'solved' });
    expect(again.status).toBe(201);
    expect(again.body.case).toMatchObject({ status: 'solved', firstResponseAt: expect.any(String) });
  });

  it('a reply whose case event cannot be written leaves no mail either', async () => {
    const ref = await openCase('Atomic event');
    const before = await snapshot(ref);
    expect((await refusing('case_events', 'kind', 'staff_replied', () => call('POST', `/api/cases/${ref}/replies`, { text: 'Hello' }))).status).toBe(500);
    expect(await snapshot(ref)).toEqual(before);
  });

  it('a status change whose copy to "CC in all cases" cannot be written leaves the case as it was', async () => {
    const ref = await openCase('Atomic status');
    const before = await snapshot(ref);
    expect((await refusing('outbox', 'kind', 'case_update', () => call('PATCH', `/api/cases/${ref}`, { status: 'solved', assignee: null }))).status).toBe(500);
    expect(await snapshot(ref)).toEqual(before);
  });

  it('a note whose event cannot be written is not kept', async () => {
    const ref = await openCase('Atomic note');
    const before = await snapshot(ref);
    expect((await refusing('case_events', 'kind', 'note_added', () => call('POST', `/api/cases/${ref}/notes`, { text: 'Internal' }))).status).toBe(500);
    expect(await snapshot(ref)).toEqual(before);
  });
});
