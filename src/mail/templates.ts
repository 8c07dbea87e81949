/**
 * Renders the automatic mails from the Handlebars templates in the repository's `templates/`:
 *
 *   templates/<kind>/subject.hbs, text.hbs, html.hbs   one folder per kind (see kinds.ts)
 *   templates/layouts/text.hbs, html.hbs               wrap the bodies; `{{body}}` / `{{{body}}}`
 *   templates/partials/<name>.text.hbs, <name>.html.hbs registered as `<name>.text`, `<name>.html`
 *
 * Every template is read, checked and compiled once by `MailRenderer.load`, which fails with the
 * file's path when one is missing or broken. Templates are compiled in strict mode (a missing prop
 * is an error, not a blank) and with the known helpers only. HTML templates escape every value;
 * the only unescaped output allowed is `{{{body}}}` in the HTML layout, which holds the already
 * rendered (and escaped) body. Subjects and text bodies are plain text and are not HTML-escaped.
 *
 * Props carry what strangers wrote (a display name, a subject, decoded from RFC 2047 words that
 * may hide CR/LF). `render` folds every string of the props into one line before any template
 * sees it, so nothing a stranger writes becomes lines of our mail. The exceptions are the props
 * named in KEEPS_LINES (a case's excerpt, what we read in an approver's reply), which templates
 * show only through {{quote}} (text: "> " before every line) or in a quoted block (HTML).
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';
import { MAIL_KINDS, type MailKind, type MailProps, type RenderedMail } from './kinds';

type Hbs = typeof Handlebars;
type CompileOptions = NonNullable<Parameters<Hbs['compile']>[1]>;
type Template<T = unknown> = Handlebars.TemplateDelegate<T>;
type Format = 'text' | 'html';

interface LayoutContext {
  subject: string;
  body: string;
}

interface KindTemplates {
  subject: Template;
  text: Template;
  html: Template;
}

/** Walks up from `start` to the first directory holding `templates/layouts`: works from `src/mail` and from `dist/src/mail`. */
export function findTemplatesDir(start: string = __dirname): string {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'templates');
    if (existsSync(path.join(candidate, 'layouts'))) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  // Not found: load() then fails naming the first file it misses here.
  return path.join(process.cwd(), 'templates');
}

export const TEMPLATES_DIR = findTemplatesDir(__dirname);

// ---------------------------------------------------------------------------------------------
// Helpers. Handlebars passes an options object as the last argument; each helper checks its own
// arguments, because strict mode does not cover the last segment of a helper argument's path.

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

/** Props whose lines are kept: shown only quoted, every line marked as the sender's. */
const KEEPS_LINES: ReadonlySet<string> = new Set(['excerpt', 'read']);

/** The props with every string folded into one line (except KEEPS_LINES), for every mail kind alike. */
export function oneLineProps(value: unknown, key?: string): unknown {
  if (typeof value === 'string') return key !== undefined && KEEPS_LINES.has(key) ? value : value.replace(LINE_BREAKS, ' ');
  if (Array.isArray(value)) return value.map((v) => oneLineProps(v));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, oneLineProps(v, k)]));
  }
  return value;
}

const HELPERS: Record<string, (...args: unknown[]) => unknown> = {
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
  /** {{quote case.excerpt}}: plain-text quoting, "> " before every line (text bodies only). */
  quote: (...args) => {
    const [text] = helperArgs('quote', 1, args);
    return String(text)
      .replace(LINE_BREAKS, '\n')
      .replace(/\n+$/, '')
      .split('\n')
      .map((line) => (line ? `> ${line}` : '>'))
      .join('\n');
  },
};

const COMMON_OPTIONS: CompileOptions = {
  strict: true,
  knownHelpersOnly: true,
  knownHelpers: Object.fromEntries(Object.keys(HELPERS).map((name) => [name, true])),
};
const OPTIONS: Record<Format, CompileOptions> = {
  html: { ...COMMON_OPTIONS },
  text: { ...COMMON_OPTIONS, noEscape: true },
};

// ---------------------------------------------------------------------------------------------
// Loading.

interface Source {
  /** Path relative to the templates directory, for messages. */
  name: string;
  format: Format;
  text: string;
}

async function readSource(dir: string, rel: string, format: Format, why: string): Promise<Source> {
  const file = path.join(dir, rel);
  try {
    return { name: rel, format, text: await readFile(file, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`mail templates: missing ${file} (${why})`);
    throw new Error(`mail templates: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Partials referenced and unescaped mustaches used by a template, from its syntax tree. */
function inspect(node: unknown, found: { partials: string[]; raw: string[] } = { partials: [], raw: [] }): { partials: string[]; raw: string[] } {
  if (Array.isArray(node)) {
    for (const child of node) inspect(child, found);
    return found;
  }
  if (!node || typeof node !== 'object') return found;
  const n = node as { type?: unknown; name?: { type?: string; original?: unknown }; escaped?: unknown; path?: { original?: unknown } };
  if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement') {
    const name = n.name;
    found.partials.push(name && (name.type === 'PathExpression' || name.type === 'StringLiteral') ? String(name.original) : '(dynamic partial)');
  }
  if (n.type === 'MustacheStatement' && n.escaped === false) found.raw.push(String(n.path?.original));
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'loc' && value && typeof value === 'object') inspect(value, found);
  }
  return found;
}

function compile(hb: Hbs, source: Source, partials: ReadonlySet<string>, rawAllowed: readonly string[] = []): Template {
  const fail = (message: string): never => {
    throw new Error(`mail templates: ${source.name}: ${message}`);
  };
  const options = OPTIONS[source.format];
  let ast: hbs.AST.Program;
  try {
    ast = hb.parseWithoutProcessing(source.text);
    // Compiles to JavaScript now, so that unknown helpers and the like fail at load.
    hb.precompile(source.text, options);
  } catch (err) {
    return fail((err as Error).message);
  }
  const { partials: used, raw } = inspect(ast);
  for (const name of raw) {
    if (!rawAllowed.includes(name)) fail(`{{{${name}}}} is not allowed: only the HTML layout's {{{body}}} is unescaped`);
  }
  for (const name of used) {
    if (!partials.has(name)) fail(`unknown partial "${name}" (no partials/${name}.hbs)`);
    if (!name.endsWith(`.${source.format}`)) fail(`partial "${name}" is not a ${source.format} partial (name it <name>.${source.format}.hbs)`);
  }
  return hb.compile(source.text, options);
}

/** Normalizes a plain-text body: LF line ends, no trailing spaces, at most one blank line in a row, one final newline. */
function tidyText(text: string): string {
  return `${text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

function tidySubject(subject: string): string {
  return subject.replace(/\s+/g, ' ').trim();
}

export class MailRenderer {
  private constructor(
    private readonly kinds: ReadonlyMap<MailKind, KindTemplates>,
    private readonly layouts: Readonly<Record<Format, Template<LayoutContext>>>,
  ) {}

  /** Reads and compiles every template under `dir` (normally TEMPLATES_DIR); fails naming the first missing or broken file. */
  static async load(dir: string = TEMPLATES_DIR): Promise<MailRenderer> {
    const hb = Handlebars.create();
    for (const [name, fn] of Object.entries(HELPERS)) hb.registerHelper(name, fn);

    // Partials: every partials/<name>.<text|html>.hbs, registered as <name>.<text|html>.
    const partialsDir = path.join(dir, 'partials');
    const partialFiles = existsSync(partialsDir) ? (await readdir(partialsDir)).filter((f) => f.endsWith('.hbs')).sort() : [];
    const partialSources: Source[] = [];
    for (const file of partialFiles) {
      const format = /\.(text|html)\.hbs$/.exec(file)?.[1] as Format | undefined;
      if (!format) throw new Error(`mail templates: partial ${path.join(partialsDir, file)} must be named <name>.text.hbs or <name>.html.hbs`);
      partialSources.push(await readSource(dir, path.join('partials', file), format, 'partial'));
    }
    const partialNames = new Set(partialSources.map((s) => path.basename(s.name, '.hbs')));
    for (const source of partialSources) hb.registerPartial(path.basename(source.name, '.hbs'), compile(hb, source, partialNames));

    const layouts = {
      text: compile(hb, await readSource(dir, 'layouts/text.hbs', 'text', 'the text layout'), partialNames) as Template<LayoutContext>,
      html: compile(hb, await readSource(dir, 'layouts/html.hbs', 'html', 'the HTML layout'), partialNames, ['body']) as Template<LayoutContext>,
    };

    const kinds = new Map<MailKind, KindTemplates>();
    for (const kind of MAIL_KINDS) {
      const why = `mail kind "${kind}" needs subject.hbs, text.hbs and html.hbs`;
      kinds.set(kind, {
        subject: compile(hb, await readSource(dir, `${kind}/subject.hbs`, 'text', why), partialNames),
        text: compile(hb, await readSource(dir, `${kind}/text.hbs`, 'text', why), partialNames),
        html: compile(hb, await readSource(dir, `${kind}/html.hbs`, 'html', why), partialNames),
      });
    }
    return new MailRenderer(kinds, layouts);
  }

  render<K extends MailKind>(kind: K, given: MailProps[K]): RenderedMail {
    const templates = this.kinds.get(kind);
    if (!templates) throw new Error(`unknown mail kind ${String(kind)}`);
    const props = oneLineProps(given) as MailProps[K];
    try {
      const subject = tidySubject(templates.subject(props));
      const text = tidyText(this.layouts.text({ subject, body: tidyText(templates.text(props)) }));
      const html = this.layouts.html({ subject, body: templates.html(props) });
      return { subject, text, html };
    } catch (err) {
      throw new Error(`rendering mail ${kind}: ${(err as Error).message}`, { cause: err });
    }
  }
}
