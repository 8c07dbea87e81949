#!/usr/bin/env node
'use strict';
/* global fetch */
// Sends mail to the support address through an SMTP server (by default the development SMTP
// server that `npm run demo` starts on 127.0.0.1:2525), and lists the resulting cases.
//
//   node scripts/send-sample.js                      send the demo's sample set
//   node scripts/send-sample.js --from someone@acme.test --subject "Disk full" [--text ...]
//                               [--to ...] [--cc ...] [--attach FILE]
//   node scripts/send-sample.js --list               print the newest cases from the HTTP API
//
// Environment: DEV_SMTP_LISTEN (host:port, default 127.0.0.1:2525), SUPPORT_ADDRESS,
// API_URL (default http://127.0.0.1:3000), API_TOKEN (default the demo's token).

const { readFileSync } = require('node:fs');
const { basename } = require('node:path');
const { parseArgs } = require('node:util');
const { setTimeout: sleep } = require('node:timers/promises');
const nodemailer = require('nodemailer');

const SUPPORT = process.env.SUPPORT_ADDRESS || 'support@support.example.com';
const SMTP = process.env.DEV_SMTP_LISTEN || '127.0.0.1:2525';
const API_URL = (process.env.API_URL || `http://127.0.0.1:${process.env.PORT || 3000}`).replace(/\/$/, '');
const API_TOKEN = process.env.API_TOKEN || 'demo-api-token-change-me';

const USAGE = `Usage: node scripts/send-sample.js [options]

  (no options)        send the sample set (one message per matching outcome)
  --from ADDRESS      send one message from ADDRESS
  --subject TEXT      its subject (default "Test message from ADDRESS")
  --text TEXT         its body
  --to ADDRESS        its To (default ${SUPPORT}); repeatable
  --cc ADDRESS        a Cc, e.g. an infrastructure address; repeatable
  --attach FILE       attach a file; repeatable
  --smtp HOST:PORT    SMTP server (default ${SMTP})
  --list              print the newest cases from ${API_URL}/api/cases
  --limit N           how many cases --list prints (default 10)
  -h, --help          this text`;

/** Each sample shows one outcome of matching against fixtures/directory.json. */
const SAMPLES = [
  {
    from: 'Bob Builder <bob@acme.test>',
    subject: 'Production API returns 502 since 09:40',
    text: 'Hello,\n\nour production API answers 502 for every request since 09:40 UTC.\n\nBob',
    expect: 'open: Bob has permissions on acme-prod and acme-dev; acme-prod is the default',
  },
  {
    from: 'Hank Unknown <hank@globex.test>',
    subject: 'Please reset my password',
    text: 'Hi, I cannot log in any more. Can you reset my password?\n\nHank',
    expect: 'suspended/unknown_sender: globex.test belongs to Globex, but Hank is not a contact',
  },
  {
    from: 'Dave No-Permission <dave@acme.test>',
    subject: 'Backup job failed overnight',
    text: 'The nightly backup on production failed. Log excerpt below.\n\nDave',
    expect: 'suspended/not_permitted: Dave is an Acme contact without a permission (routed by contact_company)',
  },
  {
    from: 'Ian Initech <ian@initech.test>',
    subject: 'Question about our invoice',
    text: 'Hello, which of our environments does invoice 2026-114 cover?\n\nIan',
    expect: 'suspended/unrouted: Initech has two infrastructures and no default',
  },
  {
    from: 'Alice Admin <alice@acme.test>',
    cc: ['acme-dev@support.example.com'],
    subject: 'Staging database is read-only (logs attached)',
    text: 'Hi,\n\nthe development database went read-only this morning. Logs attached.\n\nAlice',
    attachments: [
      {
        filename: 'postgres.log',
        contentType: 'text/plain',
        content: '2026-11-23 08:12:01 UTC ERROR: cannot execute INSERT in a read-only transaction\n',
      },
    ],
    expect: 'open: sent to acme-dev@ (recipient rule); Alice is an Acme admin',
  },
];

function transport(smtp) {
  const [host, port] = smtp.split(':');
  // The development server offers neither STARTTLS nor AUTH.
  return nodemailer.createTransport({ host, port: Number(port), secure: false, ignoreTLS: true, name: 'send-sample.local' });
}

async function send(mailer, message) {
  const info = await mailer.sendMail({
    from: message.from,
    to: message.to && message.to.length ? message.to : [SUPPORT],
    cc: message.cc,
    subject: message.subject,
    text: message.text,
    attachments: message.attachments,
  });
  return info.messageId;
}

async function api(path) {
  const response = await fetch(`${API_URL}${path}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '-').length)));
  const line = (values) => values.map((v, i) => String(v).padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => r[c] ?? '-')))].join('\n');
}

/** Prints the newest cases, after giving the match jobs a few seconds to decide the `new` ones. */
async function list(limit) {
  let cases = [];
  for (let i = 0; i < 50; i++) {
    ({ cases } = await api(`/api/cases?limit=${limit}`));
    if (!cases.some((c) => c.status === 'new')) break;
    await sleep(200);
  }
  if (!cases.length) {
    console.log('(no cases yet)');
    return;
  }
  const rows = cases.map((c) => ({
    reference: c.reference,
    status: c.status,
    holdReason: c.holdReason,
    requesterEmail: c.requesterEmail,
    company: c.company,
    infrastructure: c.infrastructure,
    subject: c.subject.length > 44 ? `${c.subject.slice(0, 43)}…` : c.subject,
  }));
  console.log(table(rows, ['reference', 'status', 'holdReason', 'requesterEmail', 'company', 'infrastructure', 'subject']));
}

async function main() {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      subject: { type: 'string' },
      text: { type: 'string' },
      to: { type: 'string', multiple: true },
      cc: { type: 'string', multiple: true },
      attach: { type: 'string', multiple: true },
      smtp: { type: 'string', default: SMTP },
      list: { type: 'boolean', default: false },
      limit: { type: 'string', default: '10' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    await list(Number(values.limit) || 10);
    return 0;
  }

  const mailer = transport(values.smtp);
  try {
    if (values.from || values.subject || values.text || values.to || values.cc || values.attach) {
      const from = values.from || 'someone@example.test';
      const id = await send(mailer, {
        from,
        to: values.to,
        cc: values.cc,
        subject: values.subject || `Test message from ${from}`,
        text: values.text || `Sent by scripts/send-sample.js at ${new Date().toISOString()}.`,
        attachments: (values.attach || []).map((file) => ({ filename: basename(file), content: readFileSync(file) })),
      });
      console.log(`sent ${id} from ${from} through ${values.smtp}`);
      return 0;
    }
    for (const sample of SAMPLES) {
      await send(mailer, sample);
      console.log(`sent  ${sample.from.padEnd(38)} expect ${sample.expect}`);
    }
    return 0;
  } finally {
    mailer.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    const message = err && err.message ? err.message : String(err);
    console.error(`send-sample: ${message}`);
    const code = (err && (err.code || (err.cause && err.cause.code))) || '';
    if (['ESOCKET', 'ECONNECTION', 'ECONNREFUSED'].includes(code)) console.error('Is the service running (with DEV_SMTP_LISTEN set)? Start it with: npm run demo');
    process.exitCode = 1;
  },
);
