/**
 * The helpers the mail templates may call, and the rules about lines that go with them (see
 * templates.ts). Handlebars passes an options object as the last argument; each helper checks
 * its own arguments, because strict mode does not cover the last segment of a helper argument's path.
 */
import Handlebars from 'handlebars';

function helperArgs(name: string, count: number, args: unknown[]): unknown[] {
  const values = args.slice(0, -1);
  if (values.length !== count) throw new Error(`helper ${name} takes ${count} arguments, got ${values.length}`);
  values.forEach((v, i) => {
    if (v === undefined) throw new Error(`helper ${name}: argument ${i + 1} is undefined (missing prop?)`);
  });
  return values;
}

function asNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`helper ${name}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

/** Every line break a mail client may honour: CR, LF, VT, FF, NEL, LINE and PARAGRAPH SEPARATOR. */
const LINE_BREAKS = /\r\n?|[\n\v\f\u0085\u2028\u2029]/g;

/**
 * Props whose lines are kept and shown only quoted, every line marked as the sender's: a case's
 * excerpt, what we read in an approver's reply, a customer's reason for escalating.
 */
export const KEEPS_LINES: ReadonlySet<string> = new Set(['excerpt', 'read', 'reason']);

/**
 * Props whose lines are kept and shown as the mail's own text, through {{lines}} (text) and
 * {{paragraphs}} (HTML) and nothing else: what a support engineer wrote (a staff reply's `body`).
 * Only our own staff write these; a stranger's words belong in KEEPS_LINES.
 */
export const SHOWN_AS_LINES: ReadonlySet<string> = new Set(['body']);

/** The props with every string folded into one line (except KEEPS_LINES and SHOWN_AS_LINES), for every mail kind alike. */
export function oneLineProps(value: unknown, key?: string): unknown {
  if (typeof value === 'string') return key !== undefined && (KEEPS_LINES.has(key) || SHOWN_AS_LINES.has(key)) ? value : value.replace(LINE_BREAKS, ' ');
  if (Array.isArray(value)) return value.map((v) => oneLineProps(v));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, oneLineProps(v, k)]));
  }
  return value;
}

/** The lines of a text, every break made LF, without the trailing empty ones. */
function linesOf(text: unknown): string[] {
  return String(text).replace(LINE_BREAKS, '\n').replace(/\n+$/, '').split('\n');
}

/** Leading reply and forward markers of a subject ("Re:", "RE:", "AW:", "Fwd:", "FW:", "WG:", "SV:", "Re[2]:"), however many. */
const REPLY_PREFIXES = /^(?:\s*(?:re|aw|sv|antw|fwd?|wg|tr)\s*(?:\[\d+\])?\s*:)+\s*/i;
const CASE_TAGS = /\[CASE-\d+\]\s*/gi;

/**
 * What a subject is about: without its leading "Re:" / "AW:" / "Fwd:" markers and without
 * `[CASE-…]` tags (a follow-up case's subject carries its old case's), so every mail about a case
 * reads "Re: [REF] topic" and the stored reply says the same as the mail that left.
 */
export function topicOf(subject: string): string {
  let topic = subject.trim();
  for (let before = ''; before !== topic; ) {
    before = topic;
    topic = topic.replace(REPLY_PREFIXES, '').replace(CASE_TAGS, '').trim();
  }
  return topic;
}

/** Helpers that take a SHOWN_AS_LINES prop, and the one format each may be used in. */
export const LINE_HELPERS: Readonly<Record<string, 'text' | 'html'>> = { lines: 'text', paragraphs: 'html' };

export const HELPERS: Record<string, (...args: unknown[]) => unknown> = {
  /** {{#if (eq decision "authorize")}} */
  eq: (...args) => {
    const [a, b] = helperArgs('eq', 2, args);
    return a === b;
  },
  /** {{#if (gt pendingCases 1)}} */
  gt: (...args) => {
    const [a, b] = helperArgs('gt', 2, args);
    return asNumber('gt', a) > asNumber('gt', b);
  },
  /** {{plural releasedCases "case" "cases"}} -> "1 case", "3 cases" */
  plural: (...args) => {
    const [count, one, many] = helperArgs('plural', 3, args);
    const n = asNumber('plural', count);
    return `${n} ${String(n === 1 ? one : many)}`;
  },
  /** {{person case.requesterName case.requesterEmail}} -> "Dana Smith (dana@acme.test)" or "dana@acme.test" */
  person: (...args) => {
    const [name, email] = helperArgs('person', 2, args);
    const shown = typeof name === 'string' ? name.trim() : '';
    return shown ? `${shown} (${String(email)})` : String(email);
  },
  /** {{topic case.subject}}: the subject as topicOf gives it, for "Re: [REF] topic". */
  topic: (...args) => {
    const [subject] = helperArgs('topic', 1, args);
    return topicOf(String(subject));
  },
  /** {{quote case.excerpt}}: plain-text quoting, "> " before every line (text bodies only). */
  quote: (...args) => {
    const [text] = helperArgs('quote', 1, args);
    return linesOf(text)
      .map((line) => (line ? `> ${line}` : '>'))
      .join('\n');
  },
  /** {{lines body}}: a SHOWN_AS_LINES prop as plain text, its lines kept (text bodies only). */
  lines: (...args) => {
    const [text] = helperArgs('lines', 1, args);
    return linesOf(text).join('\n');
  },
  /**
   * {{paragraphs body}}: a SHOWN_AS_LINES prop as HTML paragraphs (a blank line between them), its
   * other line breaks as <br>, every line escaped here (the helper's output is not escaped again).
   */
  paragraphs: (...args) => {
    const [text] = helperArgs('paragraphs', 1, args);
    const blocks = linesOf(text)
      .map((line) => Handlebars.Utils.escapeExpression(line.replace(/\s+$/, '')))
      .join('\n')
      .split(/\n[ \t]*\n+/)
      .map((block) => block.replace(/^\n+|\n+$/g, ''))
      .filter((block) => block !== '');
    return new Handlebars.SafeString(blocks.map((block) => `<p style="margin:0 0 16px 0;">${block.split('\n').join('<br>\n')}</p>`).join('\n'));
  },
};
