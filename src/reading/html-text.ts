import { htmlToText, type HtmlToTextOptions, type SelectorDefinition } from 'html-to-text';

/**
 * HTML to the plain text a person reads in it, with html-to-text (the converter mailparser itself
 * uses). Links keep their address after the text, images (an inline signature logo) and
 * what never shows (head, style, script) are left out, and lines are not rewrapped: the text keeps
 * the writer's paragraphs for the dashboard and the portal.
 */
const BASE_SELECTORS: SelectorDefinition[] = [
  { selector: 'img', format: 'skip' },
  { selector: 'style', format: 'skip' },
  { selector: 'script', format: 'skip' },
  { selector: 'title', format: 'skip' },
  { selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['<', '>'] } },
  { selector: 'h1', options: { uppercase: false } },
  { selector: 'h2', options: { uppercase: false } },
  { selector: 'h3', options: { uppercase: false } },
  { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
];

/**
 * Deepest element nesting converted, and the longest HTML. htmlparser2's parse is quadratic in
 * the nesting depth and html-to-text's walk is recursive (mailparser guards its own conversion
 * the same way); real mail stays far below both. Past either, the text is empty and the HTML is
 * kept as it came.
 */
export const MAX_HTML_DEPTH = 1000;
export const MAX_HTML_CHARS = 4 * 1024 * 1024;

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
// Closed implicitly by their next sibling, so an unclosed run of them does not nest.
const IMPLIED_END = new Set(['p', 'li', 'dt', 'dd', 'option', 'optgroup', 'tr', 'td', 'th', 'thead', 'tbody', 'tfoot', 'rt', 'rp']);

/** Whether `html` nests elements deeper than `max`: one linear pass over its tags, as htmlparser2 opens and closes them. */
export function nestsDeeperThan(html: string, max: number): boolean {
  const stack: string[] = [];
  const open = new Map<string, number>();
  // A tag ends at the next '>' before any '<', so each character is read a bounded number of times.
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9:_-]*)[^<>]*>/g;
  for (const m of html.matchAll(tag)) {
    const name = m[2]!.toLowerCase();
    if (VOID.has(name) || IMPLIED_END.has(name)) continue;
    if (!m[1]) {
      stack.push(name);
      open.set(name, (open.get(name) ?? 0) + 1);
      if (stack.length > max) return true;
    } else if (open.get(name)) {
      let popped: string | undefined;
      do {
        popped = stack.pop()!;
        open.set(popped, open.get(popped)! - 1);
      } while (popped !== name);
    }
  }
  return false;
}

/** Whether the HTML can be converted within the limits above. */
export function convertible(html: string): boolean {
  return html.length <= MAX_HTML_CHARS && !nestsDeeperThan(html, MAX_HTML_DEPTH);
}

/**
 * The text of `html`; `extra` selectors come first (reply reading marks quoted history with
 * them). Empty when the HTML is beyond the limits or the converter fails: the caller still has
 * the HTML.
 */
export function textOfHtml(html: string, extra: SelectorDefinition[] = [], formatters: HtmlToTextOptions['formatters'] = {}): string {
  if (!convertible(html)) return '';
  try {
    return htmlToText(html, {
      wordwrap: false,
      selectors: [...BASE_SELECTORS, ...extra],
      formatters,
      limits: { maxDepth: MAX_HTML_DEPTH },
    }).trim();
  } catch {
    return '';
  }
}
