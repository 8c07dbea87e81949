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
 * named in KEEPS_LINES (a case's excerpt, what we read in an approver's reply, a customer's reason
 * for escalating), which templates show only through {{quote}} (text: "> " before every line) or
 * in a quoted block (HTML), and in SHOWN_AS_LINES (what a support engineer wrote), shown as the
 * mail's own text through {{lines}} (text) and {{paragraphs}} (HTML, every line escaped). `load`
 * refuses a text template that prints any of them bare, and {{lines}} / {{paragraphs}} of any
 * other prop or in the other format (see template-helpers.ts).
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';
import { DEFAULT_DISPLAY, type Vendor } from '../config/config';
import { MAIL_KINDS, type MailKind, type MailProps, type RenderedMail } from './kinds';
import { HELPERS, KEEPS_LINES, LINE_HELPERS, SHOWN_AS_LINES, oneLineProps } from './template-helpers';

export { oneLineProps } from './template-helpers';

type Hbs = typeof Handlebars;
type CompileOptions = NonNullable<Parameters<Hbs['compile']>[1]>;
type Template<T = unknown> = Handlebars.TemplateDelegate<T>;
type Format = 'text' | 'html';

interface LayoutContext {
  subject: string;
  body: string;
  vendor: Vendor;
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

interface Found {
  partials: string[];
  raw: string[];
  /** Mustaches that print a prop as it is (no helper, no arguments): its path. */
  bare: string[];
  /** Calls of the line helpers: the helper and its first argument's path (or its literal). */
  lineCalls: Array<{ helper: string; arg: string }>;
}

/** The last segment of a path ("case.excerpt" -> "excerpt"). */
const lastSegment = (p: string): string => p.split(/[./]/).pop() ?? p;

/** Partials referenced, unescaped and bare mustaches, and line helper calls of a template, from its syntax tree. */
function inspect(node: unknown, found: Found = { partials: [], raw: [], bare: [], lineCalls: [] }): Found {
  if (Array.isArray(node)) {
    for (const child of node) inspect(child, found);
    return found;
  }
  if (!node || typeof node !== 'object') return found;
  const n = node as { type?: unknown; name?: { type?: string; original?: unknown }; escaped?: unknown; path?: { original?: unknown }; params?: Array<{ original?: unknown }>; hash?: unknown };
  if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement') {
    const name = n.name;
    found.partials.push(name && (name.type === 'PathExpression' || name.type === 'StringLiteral') ? String(name.original) : '(dynamic partial)');
  }
  if (n.type === 'MustacheStatement' && n.escaped === false) found.raw.push(String(n.path?.original));
  if (n.type === 'MustacheStatement' && !n.params?.length && !n.hash) found.bare.push(String(n.path?.original));
  if ((n.type === 'MustacheStatement' || n.type === 'SubExpression') && String(n.path?.original) in LINE_HELPERS) {
    found.lineCalls.push({ helper: String(n.path?.original), arg: String(n.params?.[0]?.original) });
  }
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'loc' && value && typeof value === 'object') inspect(value, found);
  }
  return found;
}

/**
 * Compiles one template after checking it: known partials of its format, no unescaped output but
 * the layout's, and the kept-lines rules. `layout`: the layouts, whose `{{body}}` is the rendered
 * body, not a prop.
 */
function compile(hb: Hbs, source: Source, partials: ReadonlySet<string>, rawAllowed: readonly string[] = [], layout = false): Template {
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
  const { partials: used, raw, bare, lineCalls } = inspect(ast);
  for (const name of raw) {
    if (!rawAllowed.includes(name)) fail(`{{{${name}}}} is not allowed: only the HTML layout's {{{body}}} is unescaped`);
  }
  for (const name of used) {
    if (!partials.has(name)) fail(`unknown partial "${name}" (no partials/${name}.hbs)`);
    if (!name.endsWith(`.${source.format}`)) fail(`partial "${name}" is not a ${source.format} partial (name it <name>.${source.format}.hbs)`);
  }
  for (const { helper, arg } of lineCalls) {
    if (LINE_HELPERS[helper] !== source.format) fail(`{{${helper}}} is for ${LINE_HELPERS[helper]} templates only`);
    if (!SHOWN_AS_LINES.has(lastSegment(arg))) fail(`{{${helper} ${arg}}}: only ${[...SHOWN_AS_LINES].join(', ')} may be shown with its lines`);
  }
  if (source.format === 'text' && !layout) {
    for (const name of bare) {
      const prop = lastSegment(name);
      if (KEEPS_LINES.has(prop)) fail(`{{${name}}} keeps its lines: show it with {{quote ${name}}}`);
      if (SHOWN_AS_LINES.has(prop)) fail(`{{${name}}} keeps its lines: show it with {{lines ${name}}}`);
    }
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
    private readonly vendor: Vendor,
  ) {}

  /** Reads and compiles every template under `dir` (normally TEMPLATES_DIR); fails naming the first missing or broken file. */
  static async load(dir: string = TEMPLATES_DIR, vendor: Vendor = DEFAULT_DISPLAY.vendor): Promise<MailRenderer> {
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
      text: compile(hb, await readSource(dir, 'layouts/text.hbs', 'text', 'the text layout'), partialNames, [], true) as Template<LayoutContext>,
      html: compile(hb, await readSource(dir, 'layouts/html.hbs', 'html', 'the HTML layout'), partialNames, ['body'], true) as Template<LayoutContext>,
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
    return new MailRenderer(kinds, layouts, vendor);
  }

  render<K extends MailKind>(kind: K, given: MailProps[K]): RenderedMail {
    const templates = this.kinds.get(kind);
    if (!templates) throw new Error(`unknown mail kind ${String(kind)}`);
    const props = oneLineProps(given) as MailProps[K];
    try {
      const subject = tidySubject(templates.subject(props));
      const text = tidyText(this.layouts.text({ subject, body: tidyText(templates.text(props)), vendor: this.vendor }));
      const html = this.layouts.html({ subject, body: templates.html(props), vendor: this.vendor });
      return { subject, text, html };
    } catch (err) {
      throw new Error(`rendering mail ${kind}: ${(err as Error).message}`, { cause: err });
    }
  }
}
