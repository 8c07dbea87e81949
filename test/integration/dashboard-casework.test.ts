import { escalateCase } from '../../src/cases/customer-side';
import { fileRawMessage } from '../../src/intake/ingest';
import { setStaffPassword } from '../../src/staff/accounts';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';
import { csrfIn, signedInStaff, STAFF_PASSWORD, WebClient } from '../support/staff';

const ME = 'agent@support.example.com';
const OTHER = 'other.agent@support.example.com';
/** MAX_MESSAGE_BYTES here: the most one uploaded file may weigh. */
const MAX_FILE = 64 * 1024;

describe('working a case from the dashboard (PostgreSQL, Redis, SMTP sink, the whole service)', () => {
  let t: TestService;
  let staff: WebClient;
  let n = 0;
  beforeAll(async () => {
    t = await startTestService({ MAX_MESSAGE_BYTES: String(MAX_FILE) });
    staff = await signedInStaff(t.app.ctx.db, t.base, ME);
    await setStaffPassword(t.app.ctx.db, OTHER, STAFF_PASSWORD);
  });
  afterAll(() => t.close());

  const db = () => t.app.ctx.db;
  const caseRow = (ref: string) => db().selectFrom('cases').selectAll().where('reference', '=', ref).executeTakeFirstOrThrow();
  const eventsOf = async (ref: string) => db().selectFrom('case_events').select(['kind', 'actor', 'channel', 'detail']).where('case_id', '=', (await caseRow(ref)).id).orderBy('id').execute();
  const outboxOf = async (ref: string) =>
    db().selectFrom('outbox').select(['id', 'kind', 'to_address', 'cc_addresses', 'message_ref', 'message_id']).where('case_id', '=', (await caseRow(ref)).id).orderBy('id').execute();
  const messagesOf = async (ref: string) => db().selectFrom('messages').select(['id', 'from_email', 'author', 'channel', 'text']).where('case_id', '=', (await caseRow(ref)).id).orderBy('id').execute();
  const notesOf = async (ref: string) => db().selectFrom('case_notes').select(['id', 'author', 'text']).where('case_id', '=', (await caseRow(ref)).id).orderBy('id').execute();
  /** Everything a refused form must leave as it was. */
  const stateOf = async (ref: string) => ({ c: await caseRow(ref), events: await eventsOf(ref), outbox: await outboxOf(ref), messages: await messagesOf(ref), notes: await notesOf(ref) });
  const firstResponseCount = async () => Number(/^case_intake_first_response_seconds_count (\d+)$/m.exec(await (await fetch(`${t.base}/metrics`)).text())?.[1] ?? 0);

  /** Erin's case (a user of Acme Production, where Bob has "CC in all cases"), Cc'ing two people: matched open. */
  const openCase = async (subject: string) => {
    const raw = [`From: Erin <erin@mail.test>`, 'To: support@support.example.com', 'Cc: dave@acme.test, pat@mail.test', `Subject: ${subject}`, `Message-ID: <dash-work-${n++}@tests.case-intake.test>`, `Date: ${new Date().toUTCString()}`, '', `${subject}, please help.`, ''];
    const result = await fileRawMessage(t.app.ctx.intake, Buffer.from(raw.join('\r\n')), { source: 'pipe' });
    if (result.outcome !== 'case') throw new Error(result.outcome);
    await t.caseIn(result.reference, 'open');
    return result.reference;
  };
  const heldCase = async (subject: string) => {
    const ref = await t.write('mallory@nowhere.test', subject);
    await t.caseIn(ref, 'suspended');
    return ref;
  };
  const page = (ref: string) => staff.get(`/dashboard/cases/${ref}`);
  const csrf = async (ref: string) => csrfIn((await page(ref)).text);
  /** The reply and note forms are multipart, as the browser posts them; files go in `attachments`. */
  const postMultipart = (client: WebClient, path: string, fields: Record<string, string>, files: Array<{ filename: string; type: string; content: Buffer }> = []) =>
    client.postMultipart(path, fields, files.map((f) => ({ field: 'attachments', ...f })));
  const reply = async (ref: string, fields: Record<string, string>, files?: Array<{ filename: string; type: string; content: Buffer }>) =>
    postMultipart(staff, `/dashboard/cases/${ref}/replies`, { _csrf: await csrf(ref), ...fields }, files);
  const expectBack = (res: Response, ref: string, notice: string) => {
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/dashboard/cases/${ref}?notice=${notice}`);
  };

  it('shows the reply form with its Cc, notes, assignment and status on a worked case', async () => {
    const ref = await openCase('Show me the forms');
    const { status, text } = await page(ref);
    expect(status).toBe(200);
    expect(text).toContain(`action="/dashboard/cases/${ref}/replies" enctype="multipart/form-data"`);
    expect(text).toMatch(/To <strong>erin@mail\.test<\/strong> · Cc <span id="reply-cc">dave@acme\.test, pat@mail\.test<\/span>/);
    expect(text).toContain('name="copy_participants" value="yes" checked');
    for (const form of ['notes', 'assignee', 'status']) expect(text).toContain(`action="/dashboard/cases/${ref}/${form}"`);
    expect(text).toContain(`<button type="submit" name="assignee" value="${ME}"`);
    expect(text).toContain(`<option value="${OTHER}">${OTHER}</option>`);
  });

  it('replies: a staff_reply to the requester with the participants in Cc, threaded, sent, and shown', async () => {
    const ref = await openCase('Printer on fire');
    const res = await reply(ref, { text: 'Please unplug it.', status: '', copy_participants: 'yes' });
    expectBack(res, ref, 'replied');
    const mails = (await outboxOf(ref)).filter((m) => m.kind === 'staff_reply');
    expect(mails).toEqual([expect.objectContaining({ to_address: 'erin@mail.test', cc_addresses: ['dave@acme.test', 'pat@mail.test'], message_ref: null })]);
    expect((await messagesOf(ref)).at(-1)).toMatchObject({ from_email: ME, author: 'staff', channel: 'dashboard', text: 'Please unplug it.' });
    expect((await eventsOf(ref)).filter((e) => e.kind === 'staff_replied')).toEqual([{ kind: 'staff_replied', actor: ME, channel: 'dashboard', detail: expect.objectContaining({ cc: 2, attachments: 0, firstResponse: true }) }]);
    expect((await caseRow(ref)).status).toBe('open');
    const sent = await eventually(async () => t.sink.messages.find((m) => m.parsed.messageId === `<${mails[0]!.message_id}>`), 15000, 'the staff reply');
    expect(sent.envelopeTo.sort()).toEqual(['dave@acme.test', 'erin@mail.test', 'pat@mail.test']);
    const shown = await staff.get(res.headers.get('location')!);
    expect(shown.text).toContain('Your reply is on its way to the requester.');
    expect(shown.text).toContain('Please unplug it.');
  });

  it('replies without the participants when the box is unticked', async () => {
    const ref = await openCase('Just to Erin');
    expectBack(await reply(ref, { text: 'Only you.', status: '' }), ref, 'replied');
    const mails = (await outboxOf(ref)).filter((m) => m.kind === 'staff_reply');
    expect(mails).toEqual([expect.objectContaining({ to_address: 'erin@mail.test', cc_addresses: null })]);
    expect((await eventsOf(ref)).find((e) => e.kind === 'staff_replied')?.detail).toMatchObject({ cc: 0 });
  });

  it('"Send and set pending" replies and sets pending, with its status_changed event', async () => {
    const ref = await openCase('Waiting on you');
    expectBack(await reply(ref, { text: 'Can you send a photo?', status: 'pending', copy_participants: 'yes' }), ref, 'replied');
    expect((await caseRow(ref)).status).toBe('pending');
    const events = (await eventsOf(ref)).filter((e) => e.kind === 'staff_replied' || e.kind === 'status_changed');
    expect(events.map((e) => [e.kind, e.actor, e.channel])).toEqual([
      ['staff_replied', ME, 'dashboard'],
      ['status_changed', ME, 'dashboard'],
    ]);
    expect(events[1]!.detail).toEqual({ from: 'open', to: 'pending' });
    expect((await page(ref)).text).toMatch(/id="case-status">pending/);
  });

  it('stores an attachment on the reply message; the outbox row names that message, and the mail carries it', async () => {
    const ref = await openCase('Here is the manual');
    const content = Buffer.from('%PDF-1.4 the manual\n');
    expectBack(await reply(ref, { text: 'The manual is attached.', status: 'solved', copy_participants: 'yes' }, [{ filename: 'manual.pdf', type: 'application/pdf', content }]), ref, 'replied');
    const message = (await messagesOf(ref)).at(-1)!;
    expect(message).toMatchObject({ author: 'staff', text: 'The manual is attached.' });
    const stored = await db().selectFrom('attachments').select(['message_id', 'filename', 'content_type', 'size', 'content']).where('message_id', '=', message.id).execute();
    expect(stored).toEqual([{ message_id: message.id, filename: 'manual.pdf', content_type: 'application/pdf', size: content.length, content }]);
    const mail = (await outboxOf(ref)).find((m) => m.kind === 'staff_reply')!;
    expect(mail.message_ref).toBe(message.id);
    expect((await caseRow(ref)).status).toBe('solved');
    const sent = await eventually(async () => t.sink.messages.find((m) => m.parsed.messageId === `<${mail.message_id}>`), 15000, 'the reply with its file');
    expect(sent.parsed.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['manual.pdf', content.toString()]]);
    expect((await page(ref)).text).toMatch(/<a href="\/dashboard\/attachments\/\d+" download>manual\.pdf<\/a>/);
  });

  it('refuses a file over MAX_MESSAGE_BYTES, a text over 256 KiB, an empty text and a status no button sends; nothing is stored', async () => {
    const ref = await openCase('Too much');
    const before = await stateOf(ref);
    const big = await reply(ref, { text: 'Huge file', status: '', copy_participants: 'yes' }, [{ filename: 'big.bin', type: 'application/octet-stream', content: Buffer.alloc(MAX_FILE + 1, 1) }]);
    expect(big.status).toBe(400);
    expect(await big.text()).toContain('That did not work');
    // Multipart would cut a long text short; it is refused rather than sent cut.
    const huge = await reply(ref, { text: 'x'.repeat(300 * 1024), status: '', copy_participants: 'yes' });
    expect(huge.status).toBe(400);
    expect(await huge.text()).toContain('text: at most 256 KiB');
    for (const fields of <Array<Record<string, string>>>[{ text: '  \n ', status: '' }, { text: 'hi', status: 'closed' }, { text: 'hi', status: 'suspended' }, { status: '' }]) {
      const res = await reply(ref, fields);
      expect([JSON.stringify(fields), res.status]).toEqual([JSON.stringify(fields), 400]);
      // The case page again, the problem at the reply's text (what was typed kept there).
      expect(await res.text()).toMatch(/aria-describedby="reply-text-error">[^<]*<\/textarea><\/label><span class="field-error" id="reply-text-error">[^<]+<\/span>/);
    }
    expect(await stateOf(ref)).toEqual(before);
  });

  it('adds an internal note: stored, note_added, never mailed, shown as internal and escaped', async () => {
    const ref = await openCase('Note this');
    const mails = await outboxOf(ref);
    const res = await postMultipart(staff, `/dashboard/cases/${ref}/notes`, { _csrf: await csrf(ref), text: '  Customer is on <b>holiday</b> <script>x()</script>  ' });
    expectBack(res, ref, 'noted');
    const notes = await notesOf(ref);
    expect(notes).toEqual([{ id: expect.any(String), author: ME, text: 'Customer is on <b>holiday</b> <script>x()</script>' }]);
    expect((await eventsOf(ref)).at(-1)).toEqual({ kind: 'note_added', actor: ME, channel: 'dashboard', detail: { noteId: notes[0]!.id } });
    expect(await outboxOf(ref)).toEqual(mails);
    const { text } = await page(ref);
    expect(text).toContain(`<article class="note" id="note-${notes[0]!.id}">`);
    expect(text).toMatch(/<span class="badge internal">internal note<\/span> <strong>agent@support\.example\.com<\/strong>/);
    expect(text).toContain('Customer is on &lt;b&gt;holiday&lt;/b&gt; &lt;script&gt;x()&lt;/script&gt;');
    // A note works on a held case too; an empty one is refused.
    const held = await heldCase('Note a held one');
    expectBack(await postMultipart(staff, `/dashboard/cases/${held}/notes`, { _csrf: await csrf(held), text: 'Looks like spam.' }), held, 'noted');
    expect(await notesOf(held)).toEqual([expect.objectContaining({ text: 'Looks like spam.' })]);
    expect((await postMultipart(staff, `/dashboard/cases/${held}/notes`, { _csrf: await csrf(held), text: ' ' })).status).toBe(400);
    expect(await notesOf(held)).toHaveLength(1);
  });

  it('assigns to me, to another, and unassigns, each with its event; an unknown assignee is refused', async () => {
    const ref = await openCase('Whose is it');
    const assign = async (assignee: string) => staff.post(`/dashboard/cases/${ref}/assignee`, { _csrf: await csrf(ref), assignee });
    expectBack(await assign(ME), ref, 'assigned');
    let shown = (await page(ref)).text;
    expect(shown).toContain(`<dd id="case-assignee">${ME}</dd>`);
    expect(shown).not.toContain('>Assign to me</button>');
    expectBack(await assign(OTHER.toUpperCase()), ref, 'assigned');
    expectBack(await assign(OTHER), ref, 'unchanged');
    const before = await stateOf(ref);
    const unknown = await assign('nobody@support.example.com');
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('no staff account nobody@support.example.com');
    expect(await stateOf(ref)).toEqual(before);
    expectBack(await assign(''), ref, 'assigned');
    shown = (await page(ref)).text;
    expect(shown).toContain('<dd id="case-assignee"><span class="muted">unassigned</span></dd>');
    expect((await eventsOf(ref)).filter((e) => e.kind === 'assigned')).toEqual([
      { kind: 'assigned', actor: ME, channel: 'dashboard', detail: { from: null, to: ME } },
      { kind: 'assigned', actor: ME, channel: 'dashboard', detail: { from: ME, to: OTHER } },
      { kind: 'assigned', actor: ME, channel: 'dashboard', detail: { from: OTHER, to: null } },
    ]);
    // Assignment works on a held case too.
    const held = await heldCase('Assign a held one');
    expectBack(await staff.post(`/dashboard/cases/${held}/assignee`, { _csrf: await csrf(held), assignee: ME }), held, 'assigned');
  });

  it('sets the status with its event; a status no case may have is refused', async () => {
    const ref = await openCase('Fixed it');
    const set = async (status: string) => staff.post(`/dashboard/cases/${ref}/status`, { _csrf: await csrf(ref), status });
    expectBack(await set('solved'), ref, 'status_changed');
    expect(await caseRow(ref)).toMatchObject({ status: 'solved', resolved_at: expect.any(Date) });
    expectBack(await set('solved'), ref, 'unchanged');
    expect((await set('suspended')).status).toBe(400);
    expect((await eventsOf(ref)).filter((e) => e.kind === 'status_changed')).toEqual([{ kind: 'status_changed', actor: ME, channel: 'dashboard', detail: { from: 'open', to: 'solved' } }]);
    // Bob ("CC in all cases") hears of it.
    expect((await outboxOf(ref)).filter((m) => m.kind === 'case_update').map((m) => m.to_address)).toEqual(['bob@acme.test']);
  });

  it('refuses a reply or a status on a held case with the error page; nothing is stored', async () => {
    const ref = await heldCase('Let me in');
    const { text } = await page(ref);
    expect(text).not.toContain(`/dashboard/cases/${ref}/replies`);
    expect(text).not.toContain(`/dashboard/cases/${ref}/status`);
    expect(text).toContain('No reply yet: ');
    const before = await stateOf(ref);
    const res = await reply(ref, { text: 'Sure', status: 'solved', copy_participants: 'yes' }, [{ filename: 'a.txt', type: 'text/plain', content: Buffer.from('a') }]);
    expect(res.status).toBe(409);
    expect(await res.text()).toMatch(/Cannot do that[\s\S]*the case is held/);
    expect((await staff.post(`/dashboard/cases/${ref}/status`, { _csrf: await csrf(ref), status: 'open' })).status).toBe(409);
    expect(await stateOf(ref)).toEqual(before);
    expect(await db().selectFrom('attachments').select('id').where('filename', '=', 'a.txt').execute()).toEqual([]);
  });

  it('refuses every form without this session’s CSRF token, or signed out; nothing is stored', async () => {
    const ref = await openCase('Forged forms');
    const before = await stateOf(ref);
    const stranger = new WebClient(t.base);
    for (const token of [undefined, 'not-the-token']) {
      const fields: Record<string, string> = token ? { _csrf: token } : {};
      expect((await postMultipart(staff, `/dashboard/cases/${ref}/replies`, { ...fields, text: 'Forged', status: 'solved', copy_participants: 'yes' }, [{ filename: 'f.txt', type: 'text/plain', content: Buffer.from('f') }])).status).toBe(403);
      expect((await postMultipart(staff, `/dashboard/cases/${ref}/notes`, { ...fields, text: 'Forged' })).status).toBe(403);
      expect((await staff.post(`/dashboard/cases/${ref}/assignee`, { ...fields, assignee: ME })).status).toBe(403);
      expect((await staff.post(`/dashboard/cases/${ref}/status`, { ...fields, status: 'closed' })).status).toBe(403);
    }
    // Another session's token is no good either, and without a session nothing is accepted.
    const other = new WebClient(t.base);
    await other.signIn(OTHER);
    const otherToken = csrfIn((await other.get(`/dashboard/cases/${ref}`)).text);
    expect((await staff.post(`/dashboard/cases/${ref}/status`, { _csrf: otherToken, status: 'closed' })).status).toBe(403);
    expect((await postMultipart(stranger, `/dashboard/cases/${ref}/replies`, { _csrf: otherToken, text: 'Hi', status: '' })).status).toBe(401);
    expect((await stranger.post(`/dashboard/cases/${ref}/assignee`, { _csrf: otherToken, assignee: ME })).status).toBe(401);
    expect(await stateOf(ref)).toEqual(before);
  });

  it('answers 404 for an unknown case', async () => {
    const token = await csrf(await openCase('Known'));
    const res = await postMultipart(staff, '/dashboard/cases/CASE-999999/replies', { _csrf: token, text: 'Hi', status: '' });
    expect(res.status).toBe(404);
    expect((await staff.post('/dashboard/cases/CASE-999999/assignee', { _csrf: token, assignee: ME })).status).toBe(404);
  });

  it('times the first reply once (first_response_at and the first-response histogram)', async () => {
    const ref = await openCase('First answer');
    const count = await firstResponseCount();
    expectBack(await reply(ref, { text: 'First.', status: '' }), ref, 'replied');
    const first = (await caseRow(ref)).first_response_at;
    expect(first).toBeInstanceOf(Date);
    expect(await firstResponseCount()).toBe(count + 1);
    expectBack(await reply(ref, { text: 'Second.', status: '' }), ref, 'replied');
    expect((await caseRow(ref)).first_response_at).toEqual(first);
    expect(await firstResponseCount()).toBe(count + 1);
    expect((await eventsOf(ref)).filter((e) => e.kind === 'staff_replied').map((e) => e.detail.firstResponse)).toEqual([true, false]);
  });

  it('shows escalation prominently and links a follow-up with the case it follows', async () => {
    const ref = await openCase('Production down');
    await escalateCase(t.app.ctx.casework, ref, { email: 'erin@mail.test', name: null }, 'Nothing <works>');
    const { text } = await page(ref);
    expect(text).toMatch(/<section class="card escalation" id="escalation">\s*<h2><span class="badge escalated">escalated<\/span> by erin@mail\.test · <time datetime="[^"]+">[^<]+UTC<\/time><\/h2>\s*<blockquote>Nothing &lt;works&gt;<\/blockquote>/);
    const later = await openCase('Production down again');
    await db().updateTable('cases').set({ follows_case_id: (await caseRow(ref)).id }).where('reference', '=', later).execute();
    expect((await page(later)).text).toContain(`<dd id="follows"><a href="/dashboard/cases/${ref}">${ref}</a> Production down`);
    expect((await page(ref)).text).toContain(`<dd id="followed-by"><a href="/dashboard/cases/${later}">${later}</a> Production down again`);
    expect((await page(later)).text).not.toContain('id="escalation"');
  });
});
