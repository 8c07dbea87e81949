import type { FormatCallback, SelectorDefinition } from 'html-to-text';
import { textOfHtml } from './html-text';
import { attributionAt, historyAt, isBlank, isQuoted, signatureAt } from './quote-lines';
import { hasContent, visibleText, type MessageBodies } from './visible-text';

/**
 * Where the HTML says quoted history begins. Private-use characters: a sender who types them only
 * cuts their own message short.
 */
const HISTORY_MARK = '\uE000history\uE000';

const markHistory: FormatCallback = (_elem, _walk, builder) => {
  builder.openBlock({ leadingLineBreaks: 1 });
  builder.addLiteral(HISTORY_MARK);
  builder.closeBlock({ trailingLineBreaks: 1 });
};

/**
 * The HTML shapes of quoted history and signatures, read on the markup before it becomes text:
 * `blockquote` (Apple Mail, Thunderbird, Gmail's `blockquote.gmail_quote`) becomes `>` lines as in
 * plain text; the attribution line above it is left out; Outlook's reply header
 * (`#divRplyFwdMsg`, `#appendonsend`, new Outlook's reference container) and Yahoo's quote start
 * the history, which runs to the end; the signature blocks of Gmail, Thunderbird, Outlook on the
 * web and iOS Mail are left out.
 */
const HISTORY_STARTS = ['#divRplyFwdMsg', '#appendonsend', '#mail-editor-reference-message-container', '.yahoo_quoted'];
const LEFT_OUT = ['.gmail_attr', '.moz-cite-prefix', 'hr', '.gmail_signature', '.moz-signature', '#Signature', '#signature', '#AppleMailSignature'];
const REPLY_SELECTORS: SelectorDefinition[] = [
  { selector: 'blockquote', format: 'blockquote', options: { trimEmptyLines: true } },
  ...HISTORY_STARTS.map((selector) => ({ selector, format: 'markHistory' })),
  ...LEFT_OUT.map((selector) => ({ selector, format: 'skip' })),
];

/**
 * What the person wrote in a reply, without the history they quoted and without their
 * signature. From the HTML when the message has one (quote markup is read there, where it is
 * exact), else from its text. General: approval replies use it, and so can any reply to a case.
 */
export function writtenReply(bodies: MessageBodies): string {
  if (bodies.html) {
    const text = textOfHtml(bodies.html, REPLY_SELECTORS, { markHistory });
    if (hasContent(text)) return writtenText(text);
  }
  return writtenText(bodies.text);
}

/**
 * `writtenReply` for plain text. Quoted history is cut at the first line that starts it without
 * `>` marks (Outlook's From/Sent/To/Subject block, a `____` rule, `-----Original Message-----`, a
 * forwarded message, "On ... wrote:" not followed by `>` lines). Above it, `>` lines and the
 * "On ... wrote:" attribution above them are left out and what the person wrote between them is
 * kept (an answer written under a quote, or between quotes). The signature, from its first line
 * ("-- ", a mobile client's "Sent from my ...", a closing such as "Best regards," or a legal
 * disclaimer) to the end, is left out, unless nothing was written above it.
 */
export function writtenText(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const written: string[] = [];
  let wroteSomething = false;
  let afterQuote = false;
  for (let at = 0; at < lines.length; at++) {
    const line = lines[at]!;
    if (line.includes(HISTORY_MARK) || historyAt(lines, at)) break;
    const attribution = attributionAt(lines, at);
    if (attribution) {
      let next = at + attribution;
      while (next < lines.length && isBlank(lines[next]!)) next++;
      // An attribution without `>` lines under it heads history that runs to the end.
      if (next >= lines.length || !isQuoted(lines[next]!)) break;
      at += attribution - 1;
      afterQuote = true;
      continue;
    }
    if (isQuoted(line)) {
      afterQuote = true;
      continue;
    }
    if (wroteSomething && signatureAt(line)) break;
    if (isBlank(line) && afterQuote) continue;
    afterQuote = false;
    written.push(line.trimEnd());
    if (!isBlank(line)) wroteSomething = true;
  }
  return written.join('\n').replace(/^\n+|\n+$/g, '');
}

/** The largest HTML body `foldedReply` reads as HTML. */
export const FOLD_HTML_CHARS = 256 * 1024;

/**
 * What a thread shows first for a person's message: their written words, when the message also
 * carries quoted history or a signature to fold away; null when there is nothing to fold (the
 * whole text is what they wrote) or when nothing would be left to show (a bare forward).
 */
export function foldedReply(bodies: MessageBodies): string | null {
  // Pages fold on every view: a huge HTML body is read from its text instead (linear, and the
  // text is what the page shows anyway) rather than converted again each time.
  const written = bodies.html && bodies.html.length > FOLD_HTML_CHARS && hasContent(bodies.text) ? writtenText(bodies.text) : writtenReply(bodies);
  if (!hasContent(written)) return null;
  const whole = (hasContent(bodies.text) ? bodies.text : visibleText(bodies)).replace(/\r\n?/g, '\n').trim();
  return written.trim() === whole ? null : written;
}
