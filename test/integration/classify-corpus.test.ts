// Classification and bounce parsing over the shared real-world corpus (../shared/corpus, see its
// README). Pure functions over files: no database, no services.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { classify, type MailClass } from '../../src/intake/classify';
import { parseBounce } from '../../src/intake/bounce';

const CORPUS = path.join(__dirname, '../../../shared/corpus');
const SUPPORT = { supportDomain: 'support.example.com' };

/**
 * Files whose right class differs from what their family name (or folder) says, each with why.
 * Everything else must match its family exactly.
 */
const EXCEPTIONS: Record<string, { class: MailClass; why: string }> = {
  // The README calls it mail from a person, but it is an automatic bounce: Return-Path <>,
  // Auto-Submitted: auto-replied, From postmaster, "automatic bounce notification ... reject
  // reason: Mailbox full". Making a case of it would answer a postmaster's robot.
  'bounces-and-autoreplies/rb-issue-368-bug.eml': { class: 'bounce', why: 'an automatic bounce notification despite its README label' },
  'bounces-and-autoreplies/lhost-sendmail-14.eml': { class: 'person', why: 'a person (Apple Mail) forwarding a bounce with "Fwd:": a customer doing that must get a case' },
  'bounces-and-autoreplies/lhost-amazonses-11.eml': { class: 'feedback_report', why: 'an Amazon SES "Complaint" notification, not a bounce' },
  'bounces-and-autoreplies/lhost-fml-02.eml': { class: 'list', why: 'an fml list-server notice ("not a member"), marked by Mailing-List/X-MLServer' },
  'bounces-and-autoreplies/lhost-fml-03.eml': { class: 'list', why: 'an fml list-server "Loop Alert" notice, marked by X-MLServer' },
  'mime-edge-cases/error_emails/bad_date_header.eml': { class: 'auto_reply', why: 'bulk spam with Precedence: junk: must not be answered' },
  'mime-edge-cases/error_emails/empty_in_reply_to.eml': { class: 'list', why: 'a person writing through a mailing list (List-Id)' },
  'mime-edge-cases/mime_emails/raw_email_with_mimepart_without_content_type.eml': { class: 'bounce', why: 'a sendmail delay DSN (multipart/report; delivery-status)' },
  'mime-edge-cases/multipart_report_emails/multi_address_bounce1.eml': { class: 'bounce', why: 'a Postfix DSN' },
  'mime-edge-cases/multipart_report_emails/multi_address_bounce2.eml': { class: 'bounce', why: 'a Postfix DSN' },
  'mime-edge-cases/multipart_report_emails/multipart_report_multiple_status.eml': { class: 'bounce', why: 'an InterMail DSN' },
  'mime-edge-cases/multipart_report_emails/report_422.eml': { class: 'bounce', why: 'a sendmail delay DSN' },
  'mime-edge-cases/multipart_report_emails/report_530.eml': { class: 'bounce', why: 'a sendmail DSN' },
};

/** Bounce-family files parseBounce finds no recipient in, and why (the report names none it can read). */
const NO_RECIPIENT: Record<string, string> = {
  'lhost-amazonses-11.eml': 'a complaint notification: complainedRecipients, no bounced ones',
  'lhost-postfix-64.eml': 'Postfix wrote "Delivery report unavailable": no recipient in the report',
  'lhost-v5sendmail-01.eml': 'only "Deferred: Connection timed out ... with example.com", no address',
  'lhost-verizon-01.eml': 'the address is only in the quoted original ("To:"), not in the report',
};

interface Sample {
  rel: string;
  family: string;
  expected: MailClass;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.eml') ? [path.join(dir, e.name)] : []));
}

function labelled(rel: string): Omit<Sample, 'rel'> {
  const [folder, ...rest] = rel.split('/');
  const name = rest[rest.length - 1]!;
  if (folder === 'mime-edge-cases') return { family: `mime ${rest.length > 1 ? rest[0] : '.'}`, expected: 'person' };
  const prefix = /^(lhost|rhost|rfc3464|arf|rfc3834|is-not-bounce|rb-issue-368)/.exec(name)?.[1] ?? 'other';
  const expected: MailClass = ['lhost', 'rhost', 'rfc3464'].includes(prefix) ? 'bounce' : prefix === 'arf' ? 'feedback_report' : prefix === 'rfc3834' ? 'auto_reply' : 'person';
  const group = expected === 'bounce' ? 'bounces' : expected === 'feedback_report' ? 'reports' : expected === 'auto_reply' ? 'auto-replies' : 'not bounces';
  return { family: `${group} ${prefix}`, expected };
}

const samples: Sample[] = walk(CORPUS)
  .map((file) => path.relative(CORPUS, file).split(path.sep).join('/'))
  .sort()
  .map((rel) => ({ rel, ...labelled(rel) }));

const results = new Map(samples.map((s) => [s.rel, classify(readFileSync(path.join(CORPUS, s.rel)), SUPPORT)]));

describe('classify over the shared corpus', () => {
  it('finds the corpus', () => {
    expect(samples.length).toBeGreaterThan(700);
  });

  it('matches every family label, apart from the documented exceptions', () => {
    const rows = new Map<string, { total: number; labelled: number; exceptions: number }>();
    const wrong: string[] = [];
    for (const s of samples) {
      const got = results.get(s.rel)!;
      const exception = EXCEPTIONS[s.rel];
      const row = rows.get(s.family) ?? { total: 0, labelled: 0, exceptions: 0 };
      row.total += 1;
      if (got.class === s.expected) row.labelled += 1;
      if (exception) row.exceptions += 1;
      rows.set(s.family, row);
      const expected = exception?.class ?? s.expected;
      if (got.class !== expected) wrong.push(`${s.rel}: expected ${expected}, got ${got.class} (${got.reason})`);
    }
    const table = [...rows].map(([family, r]) => `${family.padEnd(34)} ${r.labelled}/${r.total} as labelled${r.exceptions ? `, ${r.exceptions} documented exception(s)` : ''}`);
    const reasons = new Map<string, number>();
    for (const r of results.values()) reasons.set(r.reason.replace(/^Subject: .*/, 'Subject: <wording>'), (reasons.get(r.reason.replace(/^Subject: .*/, 'Subject: <wording>')) ?? 0) + 1);
    console.log(
      `classify, per family (exceptions: see EXCEPTIONS):\n${table.join('\n')}\n\nreasons:\n${[...reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${String(n).padStart(4)}  ${r}`).join('\n')}`,
    );
    expect(wrong).toEqual([]);
  });

  it('lists only exceptions that exist', () => {
    expect(Object.keys(EXCEPTIONS).filter((rel) => !results.has(rel))).toEqual([]);
  });
});

describe('parseBounce over the bounce families', () => {
  const bounces = samples.filter((s) => s.expected === 'bounce' || EXCEPTIONS[s.rel]?.class === 'bounce');

  it('finds a recipient in all but the known misses, and never throws', () => {
    const misses: string[] = [];
    let withIds = 0;
    const actions = new Map<string, number>();
    for (const s of bounces) {
      const report = parseBounce(readFileSync(path.join(CORPUS, s.rel)));
      if (report.recipients.length === 0) misses.push(path.basename(s.rel));
      if (report.originalMessageIds.length > 0) withIds += 1;
      for (const r of report.recipients) actions.set(r.action ?? 'null', (actions.get(r.action ?? 'null') ?? 0) + 1);
    }
    const found = bounces.length - misses.length;
    console.log(
      `parseBounce: recipients in ${found}/${bounces.length} (${((100 * found) / bounces.length).toFixed(1)}%), ` +
        `original Message-ID in ${withIds}/${bounces.length}; actions: ${[...actions].map(([a, n]) => `${a} ${n}`).join(', ')}\n` +
        `no recipient: ${misses.map((m) => `${m} (${NO_RECIPIENT[m] ?? 'NEW'})`).join('; ')}`,
    );
    expect(misses.filter((m) => !(m in NO_RECIPIENT))).toEqual([]);
    expect(found / bounces.length).toBeGreaterThanOrEqual(0.99);
  });

  it('never throws on any corpus file', () => {
    for (const s of samples) expect(() => parseBounce(readFileSync(path.join(CORPUS, s.rel)))).not.toThrow();
  });
});
