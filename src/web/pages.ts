import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';

export type PageValue = string | number | boolean | null | PageData[];
export interface PageData {
  [key: string]: PageValue;
}

/**
 * Server-rendered pages from `templates/pages/*.hbs` inside `layout.hbs`. Every value is escaped
 * by handlebars; the only raw insertion is the layout's `{{{body}}}`, which is our own output.
 */
export class PageRenderer {
  private constructor(
    private readonly pages: Map<string, Handlebars.TemplateDelegate>,
    private readonly layout: Handlebars.TemplateDelegate,
    readonly css: string,
  ) {}

  static async load(templatesDir: string): Promise<PageRenderer> {
    const dir = path.join(templatesDir, 'pages');
    const hb = Handlebars.create();
    const pages = new Map<string, Handlebars.TemplateDelegate>();
    for (const file of await readdir(dir)) {
      if (!file.endsWith('.hbs')) continue;
      pages.set(file.slice(0, -4), hb.compile(await readFile(path.join(dir, file), 'utf8'), { strict: true }));
    }
    const layout = pages.get('layout');
    if (!layout) throw new Error(`missing ${path.join(dir, 'layout.hbs')}`);
    return new PageRenderer(pages, layout, await readFile(path.join(dir, 'style.css'), 'utf8'));
  }

  render(name: string, title: string, data: PageData): string {
    const page = this.pages.get(name);
    if (!page) throw new Error(`no page template ${name}`);
    return this.layout({ title, body: page(data) });
  }
}

/**
 * Headers for every HTML page: no script at all, styles only from us, forms only to us, never
 * framed, never cached, and no Referer (an approval URL carries its token).
 */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex, nofollow',
};
