import { textOfHtml } from './html-text';

/** A message's bodies as the MIME parser gives them: its text/plain parts and its HTML. */
export interface MessageBodies {
  text: string;
  html: string | null;
}

/** Whether the text holds anything a person can read (not only spaces and line breaks). */
export const hasContent = (text: string): boolean => /\S/.test(text);

/**
 * What a person sees in a message: its text/plain part when that has content, else its HTML
 * converted to text (an HTML-only message, HTML inside multipart/related beside an inline logo,
 * or a text/plain alternative left empty by the mailer). The HTML itself is not changed. Only the
 * rare message without usable text pays for a conversion.
 */
export function visibleText(bodies: MessageBodies): string {
  if (hasContent(bodies.text) || !bodies.html) return bodies.text;
  return textOfHtml(bodies.html);
}
