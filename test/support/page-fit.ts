import type { Page } from 'playwright-core';

/** What makes a page unfit for its viewport: sideways scroll, and text squeezed into a narrow column. */
export interface PageFit {
  viewport: number;
  scrollWidth: number;
  /** Elements whose own text is narrower than 4 characters yet taller than 3 lines (words broken letter by letter). */
  squeezed: string[];
  /** Short words (4 to 15 letters, no hyphen or slash to break at) split over two lines: a column too narrow for a word. */
  brokenWords: string[];
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
    const box = el.getBoundingClientRect();
    const rect = { width: box.width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - parseFloat(style.borderLeftWidth) - parseFloat(style.borderRightWidth), height: box.height };
    const fontSize = parseFloat(style.fontSize);
    const lineHeight = style.lineHeight === 'normal' ? fontSize * 1.2 : parseFloat(style.lineHeight);
    // A "0" is about half an em wide in the sans-serif fonts used here.
    if (rect.width < 4 * fontSize * 0.5 && rect.height > 3 * lineHeight && !hidden(el)) {
      squeezed.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ': ' + own.slice(0, 40) + ' (' + Math.round(rect.width) + 'x' + Math.round(rect.height) + ')');
    }
  }
  const brokenWords = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || ['SCRIPT', 'STYLE', 'OPTION', 'TEXTAREA'].includes(parent.tagName) || hidden(parent)) continue;
    const text = node.textContent;
    for (const m of text.matchAll(/[^\\s]+/g)) {
      const word = m[0];
      if (word.length < 4 || word.length > 15 || /[-/\u2010-\u2014]/.test(word)) continue;
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + word.length);
      const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (tops.size > 1) brokenWords.push(parent.tagName.toLowerCase() + (parent.id ? '#' + parent.id : '') + ': ' + word);
    }
  }
  return { viewport: innerWidth, scrollWidth: document.documentElement.scrollWidth, squeezed, brokenWords };
})()`;
