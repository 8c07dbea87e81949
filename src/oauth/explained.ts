/**
 * An OAuth login failure explained, whichever side refused: the token endpoint (explain.ts) or
 * the mail server (explain-refusal.ts). A module of its own so both explainers can name it
 * without importing each other.
 */
export interface Explained {
  /** stable short code: 'AADSTS7000215', 'invalid_grant', 'unreachable', 'untrusted_certificate', ... */
  code: string;
  /** operator words, one or two sentences, naming the variable to fix */
  reason: string;
}
