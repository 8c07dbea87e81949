import type { Page } from 'playwright-core';

/** What makes a page unfit for its viewport: sideways scroll, and text squeezed into a narrow column. */
export interface PageFit {
  viewport: number;
  scrollWidth: number;
  /** Elements whose own text is narrower than 4 characters yet taller than 3 lines (words broken letter by letter). */
  squeezed: string[];
}

/**
 * Measures the page as laid out. An element counts when it has text of its own (4 characters or
 * more) and is shown: inside a visually hidden box (a table's head moved off a phone card), no.
 */
export function pageFit(page: Page): Promise<PageFit> {
  return page.evaluate(MEASURE) as Promise<PageFit>;
}

// Run in the page, as plain JavaScript: the project's TypeScript has no DOM types.
const MEASURE = `(() => {
  const hidden = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const r = e.getBoundingClientRect();
      if (r.width <= 1 || r.height <= 1) return true;
    }
    return false;
  };
  const squeezed = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = Array.from(el.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
    if (own.length < 4 || ['SCRIPT', 'STYLE', 'OPTION', 'TEXTAREA'].includes(el.tagName)) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const rect = el.getBoundingClientRect();
    const fontSize = parseFloat(style.fontSize);
    const lineHeight = style.lineHeight === 'normal' ? fontSize * 1.2 : parseFloat(style.lineHeight);
    // A "0" is about half an em wide in the sans-serif fonts used here.
    if (rect.width < 4 * fontSize * 0.5 && rect.height > 3 * lineHeight && !hidden(el)) {
      squeezed.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ': ' + own.slice(0, 40) + ' (' + Math.round(rect.width) + 'x' + Math.round(rect.height) + ')');
    }
  }
  return { viewport: innerWidth, scrollWidth: document.documentElement.scrollWidth, squeezed };
})()`;
