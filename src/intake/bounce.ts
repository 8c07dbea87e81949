import { decodeHeader, parseContentType } from './classify';
import { decodeTransfer, partText, splitMultipart, splitPart, type Part } from './mime-parts';
import { normaliseMessageId } from './headers';

export interface BounceRecipient {
  address: string;
  /** RFC 3463 enhanced status code (e.g. '5.1.1'), from the report or its diagnostic text. */
  status: string | null;
  diagnostic: string | null;
  /** RFC 3464 Action: failed, delayed, delivered, relayed, expanded; null when the report does not say. */
  action: string | null;
}

export interface BounceReport {
  /** Message-IDs (without brackets) of the message the report is about, likeliest first. */
  originalMessageIds: string[];
  recipients: BounceRecipient[];
}

// Bounces may carry the whole original with attachments; the report and the returned headers
// come first, so a bounded prefix is enough and keeps a hostile message cheap.
const MAX_BYTES = 1024 * 1024;
const MAX_DEPTH = 6;

interface Found {
  statusFields: string[];
  returnedIds: string[];
  /** Returned messages that are reports themselves (a bounce of a bounce, a forwarded bounce). */
  returnedReports: string[];
  /** Senders of the returned message: never the failed recipient. */
  returnedFrom: string[];
  texts: string[];
}

function walk(part: Part, depth: number, found: Found): void {
  const { type, params } = parseContentType(part.headers.get('content-type')?.[0]);
  if (type.startsWith('multipart/') && depth < MAX_DEPTH) {
    // Some mailers fold the boundary onto an unindented line or declare one they do not use: then
    // the first delimiter-looking line tells it. Without any, the body is read as text.
    const declared = params.get('boundary');
    let children = declared ? splitMultipart(part.body, declared) : [];
    const seen = children.length ? undefined : /^--(\S+?)(--)?[ \t]*\r?$/m.exec(part.body)?.[1];
    if (seen) children = splitMultipart(part.body, seen);
    if (children.length) {
      for (const child of children) walk(splitPart(child), depth + 1, found);
    } else {
      found.texts.push(partText(part, params.get('charset')));
    }
  } else if (/^message\/(global-)?delivery-status$/.test(type)) {
    found.statusFields.push(partText(part, 'utf-8'));
  } else if (/^(message\/(rfc822|global|rfc822-headers|global-headers)|text\/rfc822-headers)$/.test(type)) {
    // Only the returned message's own header block: its parts are the original, not the report.
    const inner = decodeTransfer(part).toString('latin1').replace(/^(\s*\r?\n)+/, '');
    const headers = splitPart(inner).headers;
    if (parseContentType(headers.get('content-type')?.[0]).type === 'multipart/report') found.returnedReports.push(inner);
    for (const id of headers.get('message-id') ?? []) found.returnedIds.push(normaliseMessageId(id) ?? '');
    for (const from of headers.get('from') ?? []) found.returnedFrom.push(...(ADDRESS.exec(from.slice(0, 1000)) ?? []).map((a) => a.toLowerCase()));
  } else if (type === '' || type.startsWith('text/')) {
    const text = partText(part, params.get('charset'));
    found.texts.push(type === 'text/html' ? text.replace(/<br\s*\/?>|<\/(p|div|tr|li)>/gi, '\n').replace(/<[^<>]*>/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&') : text);
  }
}

const ADDRESS = /[^\s<>()[\]"',;:]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/;
const cleanAddress = (value: string | undefined): string | null => {
  const m = ADDRESS.exec((value ?? '').slice(0, 1000).replace(/^\s*[\w-]+\s*;/, ''));
  return m ? m[0].replace(/\.$/, '').toLowerCase() : null;
};
const statusIn = (text: string | null): string | null => /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(text ?? '')?.[1] ?? null;

/** RFC 3464 per-recipient field groups; tolerant of missing blank lines between recipients. */
function parseStatusFields(text: string): BounceRecipient[] {
  const out: BounceRecipient[] = [];
  let current: { original?: string; final?: string; status?: string; action?: string; diagnostic?: string } = {};
  const flush = (): void => {
    // Original-Recipient is the address as the sender gave it (what our outbox holds); Final-Recipient
    // may be an alias expansion.
    const address = cleanAddress(current.original) ?? cleanAddress(current.final);
    if (address) {
      const diagnostic = current.diagnostic?.replace(/^\s*[\w-]+\s*;\s*/, '').trim() || null;
      out.push({ address, status: statusIn(current.status ?? null) ?? statusIn(diagnostic), diagnostic, action: current.action?.trim().toLowerCase().split(/[\s(;]/)[0] || null });
    }
    current = {};
  };
  for (const line of text.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    if (line.trim() === '') {
      if (current.final || current.original) flush();
      continue;
    }
    const m = /^\s*([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    const name = m?.[1]!.toLowerCase();
    const value = m?.[2] ?? '';
    if (name === 'original-recipient' || name === 'final-recipient') {
      const key = name === 'final-recipient' ? 'final' : 'original';
      if (current[key] !== undefined) flush(); // the next recipient, without a blank line between
      current[key] = value;
    } else if (name === 'status') current.status ??= value;
    else if (name === 'action') current.action ??= value;
    else if (name === 'diagnostic-code') current.diagnostic ??= decodeHeader(value);
  }
  flush();
  return out;
}

// Lines of non-RFC 3464 reports that name a failed recipient, by the mailers that write them:
// Postfix/qmail "<addr>: reason", Sendmail "<addr>... reason", and the "label: addr" lines of
// Exchange, Domino, Notes, au, Verizon, m-FILTER and others.
const RECIPIENT_LINES: RegExp[] = [
  /^\s*<([^<>\s]+@[^<>\s]+)>\s*:?\s*(.*)$/,
  /^\s*([^<>\s]+@[^<>\s]+?)\.{3}\s*(.*)$/,
  /^\s*(?:rcpt to|original-recipient|final-recipient|recipient address|target mail address|delivery failed|could not be delivered to|failed recipient|recipient|address)\s*:\s*<?([^<>\s]+@[^<>\s,;]+?)>?[.,;]?\s*(.*)$/i,
];

// Where mailers start quoting the returned message: addresses below are the original's, not the
// report's. A header line at the start of a line (Received:, Return-Path:) marks it too.
const COPY_MARKER =
  /^\s*[-=*|]*\s*(this is a copy of|(below|following) (this line )?is a copy|below is a copy|(the )?headers? of the original|original message|original mail|message headers? follow|message text follows|included is a copy|unsent message below|forwarded message|returned message)|^(received|return-path|dkim-signature|x-received|authentication-results|mime-version):/i;
// Lines that point the reader somewhere ("please contact postmaster@...") rather than report.
const REFERRAL = /contact|assistance|questions|send mail to|write to|help ?desk|mailer-daemon@/i;
const SENDER_MENTION = /(mail from|envelope[- ]from|envelope sender|from)\s*:?\s*<?([^<>\s]+@[^<>\s]+?)>?(\s|$)/gi;

function continuation(lines: string[], from: number): string[] {
  const out: string[] = [];
  for (const line of lines.slice(from, from + 6)) {
    if (!/^\s+\S/.test(line) || /^\s*<?[^<>\s]+@[^<>\s]+>?\s*$/.test(line)) break;
    out.push(line.trim());
  }
  return out;
}

function recipientsFromText(text: string, exclude: Set<string>): BounceRecipient[] {
  // Long lines are cut: nothing a report says about a recipient needs more, and it bounds the regexes.
  const all = text.split(/\r?\n/).map((l) => l.slice(0, 1000));
  const copyAt = all.findIndex((l, i) => i > 0 && COPY_MARKER.test(l));
  const lines = copyAt >= 0 ? all.slice(0, copyAt) : all;
  for (const m of all.flatMap((l) => [...l.matchAll(SENDER_MENTION)])) exclude.add(m[2]!.toLowerCase());
  const found = (address: string, i: number, rest: string): BounceRecipient => {
    const diagnostic = [rest, ...continuation(lines, i + 1)].map((s) => s.trim()).filter(Boolean).join(' ').slice(0, 1000) || null;
    return { address, status: statusIn(diagnostic), diagnostic, action: null };
  };

  const labelled: BounceRecipient[] = [];
  let indentedList = false; // Exim: "The following address(es) failed:" then indented addresses
  lines.forEach((line, i) => {
    if (/(following address(es)?|following recipients?|these recipients|address to which)[^:]*:?\s*$/i.test(line)) indentedList = true;
    for (const re of RECIPIENT_LINES) {
      const m = re.exec(line);
      const address = m ? cleanAddress(m[1]) : null;
      if (address) return void labelled.push(found(address, i, m?.[2] ?? ''));
    }
    const m = indentedList ? /^\s*"?<?([^<>\s"]+@[^<>\s"]+?)>?"?:?(?:\s+\((.*)\))?\s*$/.exec(line) : null;
    const address = m ? cleanAddress(m[1]) : null;
    if (address) labelled.push(found(address, i, m?.[2] ?? ''));
  });
  if (labelled.length) return labelled;

  // No known layout: any other address in the report part, with the lines after it as the reason.
  const loose: BounceRecipient[] = [];
  lines.forEach((line, i) => {
    if (REFERRAL.test(line) || /^\s*(message-id|in-reply-to|references)\s*:/i.test(line)) return;
    for (const m of line.matchAll(new RegExp(ADDRESS.source, 'g'))) {
      const address = cleanAddress(m[0]);
      if (address && !exclude.has(address)) loose.push(found(address, i, line));
    }
  });
  return loose;
}

function messageIdsIn(headerText: string): string[] {
  return [...headerText.matchAll(/^[ \t>]*message-id\s*:\s*(<[^<>\s]+>|\S+)/gim)].map((m) => normaliseMessageId(m[1])).filter((id): id is string => !!id);
}

interface SesNotification {
  notificationType?: string;
  Message?: string;
  bounce?: { bouncedRecipients?: Array<{ emailAddress?: string; status?: string; action?: string; diagnosticCode?: string }> };
  delivery?: { recipients?: string[]; smtpResponse?: string };
  mail?: { headers?: Array<{ name?: string; value?: string }>; commonHeaders?: { messageId?: string } };
}

/** The report Amazon SES sends through SNS: JSON (maybe inside an SNS envelope) with the recipients and the mail's headers. */
function fromSesJson(texts: string[]): BounceReport | null {
  for (const text of texts) {
    if (!text.includes('notificationType')) continue;
    try {
      // Long lines arrive folded (a line break and a space inserted), even inside strings.
      let n = JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1).replace(/\r?\n /g, '').replace(/\r?\n/g, '')) as SesNotification;
      if (!n.notificationType && typeof n.Message === 'string') n = JSON.parse(n.Message) as SesNotification;
      if (!n.notificationType) continue;
      const ids = [n.mail?.commonHeaders?.messageId, ...(n.mail?.headers ?? []).filter((x) => x.name?.toLowerCase() === 'message-id').map((x) => x.value)];
      const recipients: BounceRecipient[] = [
        ...(n.bounce?.bouncedRecipients ?? []).map((r) => ({ address: r.emailAddress ?? '', status: statusIn(r.status ?? null) ?? statusIn(r.diagnosticCode ?? null), diagnostic: r.diagnosticCode ?? null, action: r.action ?? 'failed' })),
        ...(n.delivery?.recipients ?? []).map((address) => ({ address, status: statusIn(n.delivery?.smtpResponse ?? null), diagnostic: n.delivery?.smtpResponse ?? null, action: 'delivered' })),
      ].map((r) => ({ ...r, address: cleanAddress(r.address) ?? '' })).filter((r) => r.address);
      return { originalMessageIds: ids.map((id) => normaliseMessageId(id)).filter((id): id is string => !!id), recipients };
    } catch {
      continue;
    }
  }
  return null;
}

function merge(recipients: BounceRecipient[]): BounceRecipient[] {
  const byAddress = new Map<string, BounceRecipient>();
  for (const r of recipients) {
    const seen = byAddress.get(r.address);
    byAddress.set(r.address, seen ? { address: r.address, status: seen.status ?? r.status, diagnostic: seen.diagnostic ?? r.diagnostic, action: seen.action ?? r.action } : { ...r });
  }
  return [...byAddress.values()];
}

/**
 * Reads what a delivery report says about the message it reports on: RFC 3464 status parts and
 * the returned message or its headers, then X-Failed-Recipients, then best-effort reading of
 * the wording of mailers that do not follow RFC 3464. Never throws: an unreadable report gives
 * empty lists.
 */
export function parseBounce(raw: Buffer): BounceReport {
  try {
    return read(raw.subarray(0, MAX_BYTES).toString('latin1'), 0);
  } catch {
    return { originalMessageIds: [], recipients: [] };
  }
}

function read(text: string, depth: number): BounceReport {
  const top = splitPart(text);
  const found: Found = { statusFields: [], returnedIds: [], returnedReports: [], returnedFrom: [], texts: [] };
  walk(top, 0, found);

  const ses = fromSesJson(found.texts);
  if (ses) return { originalMessageIds: [...new Set(ses.originalMessageIds)], recipients: merge(ses.recipients) };

  const ownId = normaliseMessageId(top.headers.get('message-id')?.[0]);
  const ids = [...found.returnedIds, ...found.texts.flatMap((t) => messageIdsIn(t)), ...(top.headers.get('in-reply-to') ?? []).map((v) => normaliseMessageId(v))];

  const failed = (top.headers.get('x-failed-recipients') ?? []).flatMap((v) => v.split(/[,\s]+/)).map((a) => cleanAddress(a)).filter((a): a is string => !!a);
  let recipients = found.statusFields.flatMap((f) => parseStatusFields(f));
  if (recipients.length === 0) {
    // Without a status part the wording is all there is; where the header names the failed
    // addresses, the wording only adds their reasons.
    const exclude = new Set(['from', 'to', 'cc', 'reply-to', 'return-path', 'sender', 'delivered-to'].flatMap((name) => top.headers.get(name) ?? []).flatMap((v) => [...v.slice(0, 2000).matchAll(new RegExp(ADDRESS.source, 'g'))].map((m) => m[0].toLowerCase())));
    for (const address of found.returnedFrom) exclude.add(address);
    const fromText = found.texts.flatMap((t) => {
      const fields = parseStatusFields(t);
      return fields.length ? fields : recipientsFromText(t, exclude);
    });
    recipients = failed.length ? fromText.filter((r) => failed.includes(r.address)) : fromText;
  }
  recipients.push(...failed.map((address) => ({ address, status: null, diagnostic: null, action: 'failed' })));
  // A report that only wraps another report (forwarded by a gateway): read the inner one.
  if (recipients.length === 0 && depth < 2) {
    for (const inner of found.returnedReports) {
      const nested = read(inner, depth + 1);
      recipients.push(...nested.recipients);
      ids.push(...nested.originalMessageIds);
    }
  }
  return { originalMessageIds: [...new Set(ids.filter((id): id is string => !!id && id !== ownId))], recipients: merge(recipients) };
}
