/**
 * The line shapes mail clients use to start quoted history and signatures, in English, German,
 * French, Spanish, Portuguese, Italian and Dutch. Each is tested against one line (or an
 * attribution wrapped over up to three) of bounded length, with one unbounded run per pattern,
 * so reading a reply is linear in its size whatever a sender puts in it.
 */

/** Lines longer than this are never a header, attribution or signature line. */
export const MAX_MARKER_LINE = 600;

export const isQuoted = (line: string): boolean => /^\s*>/.test(line);

export const isBlank = (line: string): boolean => !/\S/.test(line);

/** "On <date>, <name> wrote:" and its forms; `opener` lines may start one. */
const ATTRIBUTION_OPENER = /^\s*(on|am|le|el|em|às|as|il|op)\s/i;
const ATTRIBUTIONS: RegExp[] = [
  /^\s*On\s.*wrote\s*:\s*$/i,
  /^\s*Am\s.*schrieb.*:\s*$/i,
  /^\s*Le\s.*a\s+écrit\s*:\s*$/i,
  /^\s*El\s.*escribió\s*:\s*$/i,
  /^\s*(Em|Às|As)\s.*escreveu\s*:\s*$/i,
  /^\s*Il\s.*ha\s+scritto\s*:\s*$/i,
  /^\s*Op\s.*schreef.*:\s*$/i,
];
/** "Name <address> wrote:" without a date (some webmail, German "schrieb"). */
const ADDRESS_ATTRIBUTION = /^[^<>]*<[^<>\s]+@[^<>\s]+>\s*(wrote|schrieb|a écrit|escribió|escreveu|ha scritto|schreef)\s*:\s*$/i;

/**
 * How many lines from `at` an attribution takes ("On ... wrote:" wrapped over up to three lines
 * by the client), or 0 when there is none.
 */
export function attributionAt(lines: readonly string[], at: number): number {
  const first = lines[at]!;
  if (first.length > MAX_MARKER_LINE) return 0;
  if (ADDRESS_ATTRIBUTION.test(first)) return 1;
  if (!ATTRIBUTION_OPENER.test(first)) return 0;
  let joined = '';
  for (let n = 1; n <= 3 && at + n - 1 < lines.length; n++) {
    const line = lines[at + n - 1]!;
    if (n > 1 && (isBlank(line) || isQuoted(line) || line.length > MAX_MARKER_LINE)) return 0;
    joined = n === 1 ? line : `${joined} ${line.trim()}`;
    if (ATTRIBUTIONS.some((re) => re.test(joined))) return n;
  }
  return 0;
}

// Outlook's header block ("From: ... Sent: ... To: ... Subject: ..."), bold (*From:*) or not.
const FIELD = (names: string) => new RegExp(`^\\s*\\*?(${names})\\s?\\*?\\s?:\\s?\\*?(\\s|$)`, 'i');
const FROM_FIELD = FIELD('From|Von|De|Da|Van|Fra|Från');
const OTHER_FIELDS = FIELD(
  'Sent|Date|To|Cc|Subject|Gesendet|Datum|An|Betreff|Envoyé|À|Objet|Enviado|Enviada|Fecha|Para|Asunto|Assunto|Data|Inviato|A|Oggetto|Verzonden|Verstuurd|Aan|Onderwerp',
);

/** Whether `at` starts Outlook's header block: a From field and another field within the next lines. */
export function outlookHeaderAt(lines: readonly string[], at: number): boolean {
  const line = lines[at]!;
  if (line.length > MAX_MARKER_LINE || !FROM_FIELD.test(line)) return false;
  // Outlook on phones writes the block on one line: "From: X Sent: Monday ... To: Y Subject: Z".
  if (/\s\*?(Sent|Gesendet|Envoyé|Enviado|Inviato|Verzonden|Date|Datum)\s?\*?\s?:/i.test(line)) return true;
  for (let n = at + 1; n < Math.min(lines.length, at + 6); n++) {
    const next = lines[n]!;
    if (next.length <= MAX_MARKER_LINE && OTHER_FIELDS.test(next)) return true;
  }
  return false;
}

const ORIGINAL_MESSAGE =
  /^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Originalnachricht|Message d'origine|Message original|Mensaje original|Mensagem original|Messaggio originale|Oorspronkelijk bericht|Origineel bericht)\s*-{2,}\s*$/i;
const FORWARDED =
  /^\s*-{2,}\s*(Forwarded message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado|Mensaje enviado|Mensagem encaminhada|Messaggio inoltrato|Doorgestuurd bericht)\s*-{2,}\s*$/i;
/** Outlook's "________________________________" and mailing lists' footers. */
const UNDERSCORES = /^\s*_{5,}\s*$/;
const DASHES = /^\s*-{5,}\s*$/;

/** Whether quoted history starts at `at` and runs to the end (no `>` marks to tell it by). */
export function historyAt(lines: readonly string[], at: number): boolean {
  const line = lines[at]!;
  if (line.length > MAX_MARKER_LINE) return false;
  if (ORIGINAL_MESSAGE.test(line) || FORWARDED.test(line) || UNDERSCORES.test(line) || outlookHeaderAt(lines, at)) return true;
  if (!DASHES.test(line)) return false;
  // A rule of dashes above Outlook's header block.
  for (let n = at + 1; n < Math.min(lines.length, at + 4); n++) {
    if (!isBlank(lines[n]!)) return outlookHeaderAt(lines, n);
  }
  return false;
}

const SIGNATURE_LINES: RegExp[] = [
  /^--\s*$/, // RFC 3676's "-- " and its trimmed form
  /^\s*__\s*$/,
  /^-\p{Lu}[\p{Ll}.]+( \p{Lu}[\p{Ll}.]*){0,2}\s*$/u, // "-Abhishek Kona": capitalised names only, not "-but only prod"
  // Mobile clients' lines, letters and spaces only: "Sent from my desk, is ..." is a sentence.
  /^\s*(Sent from|Get Outlook for|Envoyé de|Envoyé depuis|Télécharger Outlook pour|Enviado desde|Enviado do|Enviado de|Inviato da|Inviato dal|Verzonden vanaf|Verzonden met|Verstuurd vanaf|Gesendet von)\s[\p{L}\d ]{1,60}$/iu,
  /^\s*Von meinem\s[\p{L}\d ]{1,40}\sgesendet\s*$/iu,
  // A closing line on its own: what follows is the writer's name and details.
  /^\s*(best|kind|warm|many thanks and)?\s?(regards|wishes)[,.!]?\s*$/i,
  /^\s*(thanks|thank you|cheers|best|br|thx)[,.!]?\s*$/i,
  /^\s*(mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|viele grüße|beste grüße|liebe grüße|gruß|grüße|mfg|lg)[,.!]?\s*$/i,
  /^\s*(cordialement|bien à vous|bien cordialement|salutations|meilleures salutations|merci)[,.!]?\s*$/i,
  /^\s*(saludos|un saludo|saludos cordiales|atentamente|gracias)[,.!]?\s*$/i,
  /^\s*(atenciosamente|cumprimentos|abraços|obrigado|obrigada)[,.!]?\s*$/i,
  /^\s*(cordiali saluti|saluti|distinti saluti|grazie)[,.!]?\s*$/i,
  /^\s*(met vriendelijke groet(en)?|vriendelijke groet(en)?|groeten|groet|bedankt)[,.!]?\s*$/i,
  // A legal disclaimer, with or without a signature above it.
  /^\s*(confidentiality( notice)?|disclaimer|legal notice|this (e-?mail|message|communication)( and any (files|attachments?)( transmitted with it)?)? (is|are|may|contains?|and)|the information (contained )?in this|diese (e-?mail|nachricht)|dieses e-?mail|vertraulichkeitshinweis|ce (message|courriel|e-?mail)|este (mensaje|correo|e-?mail)|esta mensagem|questo messaggio|il presente messaggio|dit (e-?mail)?bericht|deze e-?mail)\b/i,
];

/** Whether a signature (or disclaimer) starts at this line: everything the writer put below it is not their message. */
export function signatureAt(line: string): boolean {
  return line.length <= MAX_MARKER_LINE && SIGNATURE_LINES.some((re) => re.test(line));
}
