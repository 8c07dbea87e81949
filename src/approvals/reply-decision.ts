import type { ApprovalChoice } from './decide';

/** Why a reply decided nothing; each has a sentence for the approver (UNDECIDED_BECAUSE). */
export type UndecidedReason = 'empty' | 'no_decision_word' | 'both' | 'negated' | 'question';

export type ReplyReading = { decision: ApprovalChoice } | { decision: null; reason: UndecidedReason };

/** Why, as the approver is told ("We decided nothing, because ...") and the reply's record says. */
export const UNDECIDED_BECAUSE: Record<UndecidedReason, string> = {
  empty: 'it has no text of its own above the quoted request',
  no_decision_word: 'it says neither authorize nor ignore',
  both: 'it says both authorize and ignore',
  negated: 'it negates its decision word (as in "do not authorize")',
  question: 'it asks a question',
};

// Lower case, accents as typed. Spanish "si" without its accent is also "if", so only "sí" counts.
const AUTHORIZE_WORDS = new Set([
  'authorize', 'authorise', 'authorized', 'authorised', 'approve', 'approved', 'yes', 'ok', 'okay', 'accept', 'accepted',
  'ja', 'genehmigt', 'genehmigen', 'genehmige', 'autorisiere', 'autorisieren', 'autorisiert', 'oui', 'autoriser', 'autorisé', 'autorisée', 'accepter', 'accepté',
  'sí', 'autorizar', 'autorizo', 'autorizado', 'autorizada', 'aprobar', 'aprobado', 'sim', 'aprovar', 'aprovado', 'aprovo',
  'sì', 'autorizzare', 'autorizzo', 'autorizzato', 'approvare', 'approvato', 'akkoord', 'goedkeuren', 'goedgekeurd', 'autoriseren', 'geautoriseerd',
]);
const IGNORE_WORDS = new Set([
  'ignore', 'ignored', 'no', 'nope', 'deny', 'denied', 'reject', 'rejected', 'decline', 'declined',
  'nein', 'ignorieren', 'ignoriert', 'ignoriere', 'ablehnen', 'abgelehnt', 'non', 'ignorer', 'ignoré', 'refuser', 'refusé',
  'ignorar', 'ignorado', 'rechazar', 'rechazado', 'não', 'recusar', 'rejeitar', 'ignorare', 'ignorato', 'rifiutare', 'rifiutato',
  'nee', 'negeren', 'weigeren', 'afwijzen', 'afgewezen',
]);
/** Two-word forms: "go ahead". */
const AUTHORIZE_PHRASES = [['go', 'ahead']];
/** Words that negate the decision word right after them ("don't authorize", "not ok", "never approve"). */
const NEGATORS_BEFORE = new Set([
  'not', 'dont', "don't", 'never', 'cannot', 'unable', 'refuse', 'nicht', 'kein', 'keine', 'keinen', 'keinem', 'keiner', 'keinesfalls', 'nie', 'niemals',
  'pas', 'jamais', 'nunca', 'jamás', 'nem', 'niet', 'nooit', 'geen', 'mai',
]);
/** Words that negate the decision word right before them ("genehmige nicht", "autoriseer niet", "n'autorisez pas"). */
const NEGATORS_AFTER = new Set(['not', 'nicht', 'niet', 'pas']);

/** Words that open a question even without its question mark ("Should I approve"). */
const QUESTION_OPENERS = new Set([
  'should', 'shall', 'can', 'could', 'would', 'may', 'must', 'is', 'are', 'who', 'what', 'why', 'how', 'when', 'whom',
  'soll', 'sollen', 'sollte', 'kann', 'muss', 'wer', 'warum', 'dois', 'est', 'debo', 'debería', 'devo', 'posso', 'moet', 'kan', 'wie',
]);

/**
 * A short "no" decides only when it stands on its own ("No.", "No, he left"): followed by more
 * words it is often the start of a yes ("No problem", "No objection"). There it still counts
 * against the other decision ("No problem, authorize him" decides nothing), but decides nothing
 * by itself.
 */
const STANDS_ALONE_ONLY = new Set(['no', 'non', 'nee', 'não', 'nein']);

/** How far before a decision word, within its sentence, a negator negates it ("I would not, in any case, approve"). */
const NEGATION_REACH = 4;

interface Word {
  word: string;
  sentence: number;
  /** Last in its sentence or followed by a comma or dash: a word said on its own. */
  alone: boolean;
}

/** Lower-case words with the sentence each is in; apostrophes kept inside ("don't"), other "n't" endings read as "not". */
function words(text: string): Word[] {
  const sentences = text.normalize('NFC').toLowerCase().replace(/[’`]/g, "'").split(/[.!?;:\n]+/);
  return sentences.flatMap((sentence, i) =>
    [...sentence.matchAll(/[\p{L}\p{M}]+(?:'[\p{L}]+)*/gu)].flatMap((m) => {
      const alone = /^\s*(?:[,\-–—)]|$)/.test(sentence.slice(m.index + m[0].length));
      const w = m[0];
      return w.endsWith("n't") && w !== "don't" ? [{ word: w.slice(0, -3), sentence: i, alone: false }, { word: 'not', sentence: i, alone }] : [{ word: w, sentence: i, alone }];
    }),
  );
}

function negatedAt(list: Word[], at: number, length: number): boolean {
  const { sentence } = list[at]!;
  for (let k = Math.max(0, at - NEGATION_REACH); k < at; k++) {
    if (list[k]!.sentence === sentence && NEGATORS_BEFORE.has(list[k]!.word)) return true;
  }
  const after = list[at + length];
  return after !== undefined && after.sentence === sentence && NEGATORS_AFTER.has(after.word);
}

/**
 * What an approval reply decides, from what the approver wrote (without quoted history and
 * signature): authorize or ignore when the text holds decision words of one kind only, none of
 * them negated, and no question (a question mark, or a sentence opened like one); otherwise nothing, with the reason. Never the opposite of
 * a decision word it holds: words of both kinds decide nothing.
 */
export function replyDecision(text: string): ReplyReading {
  const list = words(text);
  if (!list.length) return { decision: null, reason: 'empty' };
  const kinds = new Set<ApprovalChoice>();
  let decisive = false;
  let negated = false;
  let asked = /[?¿]/.test(text);
  const opener = new Map<number, string>();
  for (const w of list) if (!opener.has(w.sentence)) opener.set(w.sentence, w.word);
  for (let i = 0; i < list.length; i++) {
    const phrase = AUTHORIZE_PHRASES.find((p) => p.every((part, k) => list[i + k]?.word === part && list[i + k]!.sentence === list[i]!.sentence));
    const w = list[i]!.word;
    const kind: ApprovalChoice | null = phrase || AUTHORIZE_WORDS.has(w) ? 'authorize' : IGNORE_WORDS.has(w) ? 'ignore' : null;
    if (!kind) continue;
    kinds.add(kind);
    if (phrase || !STANDS_ALONE_ONLY.has(w) || list[i]!.alone) decisive = true;
    const length = phrase?.length ?? 1;
    if (negatedAt(list, i, length)) negated = true;
    if (QUESTION_OPENERS.has(opener.get(list[i]!.sentence)!)) asked = true;
    i += length - 1;
  }
  if (!kinds.size) return { decision: null, reason: 'no_decision_word' };
  if (negated) return { decision: null, reason: 'negated' };
  if (kinds.size > 1) return { decision: null, reason: 'both' };
  if (asked) return { decision: null, reason: 'question' };
  if (!decisive) return { decision: null, reason: 'no_decision_word' };
  return { decision: [...kinds][0]! };
}
