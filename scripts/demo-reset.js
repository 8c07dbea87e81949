#!/usr/bin/env node
'use strict';
// `npm run demo`'s fresh start: drops the demo database (closing any connection left to it) and
// creates it empty, and deletes the demo's Redis keys (queued and scheduled jobs of an earlier
// run would otherwise act on rows that are gone). Every run then tells the same story: the same
// sample cases, the same approval requests to click.
//
//   node scripts/demo-reset.js DATABASE QUEUE_PREFIX
//
// Environment (as scripts/demo.sh sets it): DATABASE_URL, whose server it connects to (through
// its `postgres` database), and REDIS_URL.

const { URL } = require('node:url');
const { Client } = require('pg');
const { deleteKeysUnder } = require('../dist/src/queue/redis-keys.js');

async function main([database, prefix]) {
  // The name goes into SQL as an identifier: the demo's own names only.
  if (!/^[a-z_][a-z0-9_]*$/.test(database || '') || !prefix) {
    console.error('usage: node scripts/demo-reset.js DATABASE QUEUE_PREFIX (DATABASE: lower-case letters, digits, _)');
    return 64;
  }
  const server = new URL(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/');
  server.pathname = '/postgres';
  const admin = new Client({ connectionString: server.toString() });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${database} with (force)`);
    await admin.query(`create database ${database}`);
  } finally {
    await admin.end();
  }
  const keys = await deleteKeysUnder(process.env.REDIS_URL || 'redis://127.0.0.1:6379', prefix);
  console.log(`database ${database} created empty; ${keys} Redis keys under ${prefix}: deleted`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`demo-reset: ${err && err.message ? err.message : err}`);
    process.exitCode = 1;
  },
);
