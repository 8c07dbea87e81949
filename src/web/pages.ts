import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';
import { DEFAULT_DISPLAY, type Display } from '../config/config';

/** A page's data: plain values, arrays and objects, escaped by handlebars when shown. */
export type PageData = Record<string, unknown>;

/** What every dashboard page's frame needs: who is signed in and the token its forms carry. */
export interface PageFrame {
  staffEmail: string;
  csrf: string;
  /** The navigation entry to mark as current. */
  section: string;
}

/** The portal's frame: who is signed in and which sections they have. */
export interface PortalFrame {
  email: string;
  name: string | null;
  csrf: string;
  section: string;
  /** Company admins and infrastructure administrators: they see Approvals and Team. */
  manages: boolean;
}

/** Which app's frame an error page is shown in: by the path it was asked under. */
export type ErrorFrame = 'dashboard' | 'portal' | 'public';

const ERROR_HOME: Record<ErrorFrame, { href: string; label: string } | null> = {
  dashboard: { href: '/dashboard', label: 'Back to the overview' },
  portal: { href: '/portal', label: 'Back to the portal' },
  public: null,
};

async function templateFiles(dir: string, prefix = ''): Promise<Array<[string, string]>> {
  const found: Array<[string, string]> = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) found.push(...(await templateFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)));
    else if (entry.name.endsWith('.hbs')) found.push([`${prefix}${entry.name.slice(0, -4)}`, path.join(dir, entry.name)]);
  }
  return found;
}

/**
 * Server-rendered pages from `templates/pages/**.hbs`, inside `layout.hbs` (public pages) or
 * `dashboard/layout.hbs` (staff pages). Every value is escaped by handlebars; the only raw
 * insertions are the layouts' `{{{body}}}` and the chart's SVG, which are our own output.
 */
export class PageRenderer {
  private constructor(
    private readonly pages: Map<string, Handlebars.TemplateDelegate>,
    readonly css: string,
    readonly script: string,
    /** /static/times.js: writes every `<time>` in the viewer's zone (pages load it when DISPLAY_TIME_ZONE is unset). */
    readonly timesScript: string,
    private readonly display: Display,
  ) {}

  static async load(templatesDir: string, display: Display = DEFAULT_DISPLAY): Promise<PageRenderer> {
    const dir = path.join(templatesDir, 'pages');
    const hb = Handlebars.create();
    hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    // Handlebars passes its options object last: join the arguments before it.
    hb.registerHelper('concat', (...parts: unknown[]) => parts.slice(0, -1).join(''));
    // A refused form's problem at its field (see FormEcho): the control says it is invalid and
    // which text describes it; the text follows the control.
    const problem = (form: unknown, name: string): string | undefined => (form as { errors?: Record<string, string> } | undefined)?.errors?.[name];
    hb.registerHelper('fieldAttrs', (form: unknown, name: string, id: string) => (problem(form, name) ? new hb.SafeString(` aria-invalid="true" aria-describedby="${hb.escapeExpression(id)}-error"`) : ''));
    hb.registerHelper('fieldError', (form: unknown, name: string, id: string) => {
      const text = problem(form, name);
      return text ? new hb.SafeString(`<span class="field-error" id="${hb.escapeExpression(id)}-error">${hb.escapeExpression(text)}</span>`) : '';
    });
    const pages = new Map<string, Handlebars.TemplateDelegate>();
    for (const [name, file] of await templateFiles(dir)) {
      const source = await readFile(file, 'utf8');
      // Every page is also a partial under its name: the overview embeds its live part.
      hb.registerPartial(name, source);
      // preventIndent: a partial's lines inside <pre> must not take the indentation of the line that includes it.
      pages.set(name, hb.compile(source, { preventIndent: true }));
    }
    for (const layout of ['layout', 'dashboard/layout', 'portal/layout']) if (!pages.has(layout)) throw new Error(`missing ${path.join(dir, `${layout}.hbs`)}`);
    const [css, script, timesScript] = await Promise.all(['style.css', 'dashboard/live.js', 'times.js'].map((file) => readFile(path.join(dir, file), 'utf8')));
    return new PageRenderer(pages, css!, script!, timesScript!, display);
  }

  private template(name: string): Handlebars.TemplateDelegate {
    const page = this.pages.get(name);
    if (!page) throw new Error(`no page template ${name}`);
    return page;
  }

  /** VENDOR_LOGO_URL's origin: the one place besides us that pages load an image from (see registerSecurityHeaders). */
  get logoOrigin(): string | null {
    return this.display.vendor.logoUrl ? new URL(this.display.vendor.logoUrl).origin : null;
  }

  /** What every frame shows whoever is signed in: the vendor, and whether times are rewritten in the viewer's zone. */
  private get frameData() {
    return { vendor: this.display.vendor, localTimes: this.display.timeZone === null };
  }

  render(name: string, title: string, data: PageData): string {
    return this.template('layout')({ ...this.frameData, title, body: this.template(name)(data) });
  }

  /**
   * A 404 or error page inside the frame of the app it was asked under, for a visitor nobody
   * signed in as yet (no name, no sign-out form): the same page whoever asks.
   */
  renderError(frame: ErrorFrame, status: number, page: { heading: string; message: string; requestId?: string }): string {
    const layout = frame === 'dashboard' ? 'dashboard/layout' : frame === 'portal' ? 'portal/layout' : 'layout';
    return this.template(layout)({ ...this.frameData, title: page.heading, body: this.template('error')({ ...page, status, home: ERROR_HOME[frame] }) });
  }

  /** A part of a page without its frame (the overview's live refresh sends one). */
  fragment(name: string, data: PageData): string {
    return this.template(name)(data);
  }

  renderDashboard(name: string, title: string, frame: PageFrame, data: PageData): string {
    return this.renderFramed('dashboard/layout', name, title, frame, data);
  }

  /** A signed-in page inside `layout` (the dashboard's or the portal's), its forms given the CSRF token. */
  renderFramed(layout: string, name: string, title: string, frame: PageFrame | PortalFrame, data: PageData): string {
    return this.template(layout)({ ...this.frameData, title, ...frame, [`in_${frame.section}`]: true, body: this.template(name)({ ...data, csrf: frame.csrf }) });
  }
}

