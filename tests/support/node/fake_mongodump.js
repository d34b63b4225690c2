#!/usr/bin/env node
// A fake mongodump for the MongoDB driver's tests.
//
// Why it exists: neither MongoDB nor the MongoDB Database Tools can be installed on the
// machines this project is built and tested on (Debian 12 ships no mongodump; the tools are
// only downloadable from mongodb.com, and the network is closed). So the driver's dump path
// is tested against this stand-in, which checks what a real mongodump would receive and
// writes an archive-shaped stream:
//
//  1. It checks and records (mongodump.report.json beside itself) what it was given:
//     argv ("--config=<file>" first, "--archive" without a file, no --password/-p/--uri and
//     no connection string, neither the password nor the URI from the config file anywhere
//     in argv), its environment (exactly PATH and LC_ALL=C.UTF-8, or plan.env_names: no
//     BACKUPY_* and nothing else from the agent), and the --config file (a regular file, mode 0600, owned by our
//     uid, only "key: 'single-quoted value'" lines with the keys mongodump reads from
//     --config: password, uri, sslPEMKeyPassword). Every broken promise is listed in
//     "violations".
//  2. It behaves as mongodump.plan.json (beside itself) says; "mode":
//       "ok"          (default) an archive of plan.bytes bytes (default 1 MiB) on stdout:
//                     the magic number 6d e2 99 81, a BSON header document, collection
//                     metadata, the 0xffffffff terminator, then deterministic bytes from
//                     plan.seed in 1 MiB writes; exit 0. The report gets the bytes and
//                     SHA-256 of what was written, so a test can compare what came out of
//                     the driver. Large outputs (100+ MiB) stream: pipe backpressure blocks
//                     the writes.
//       "auth-fail"   mongodump's "Failed: ... authentication failed" on stderr, echoing the
//                     password and the URI (a driver must mask them); exit 1
//       "no-magic"    text without the magic number; exit 0
//       "empty"       nothing; exit 0
//       "kill-midway" the magic and 256 KiB, then SIGKILL to itself
//       "slow"        the magic, then 4 KiB every 50 ms until killed (cancel tests)
//
// The driver finds it as "mongodump" in its child PATH: the test copies this file there
// with its first line replaced by "#!<absolute node>", because the child's PATH need not
// contain node (and "env node" would rename the process "node").
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const here = path.dirname(process.argv[1]);
const plan = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(here, 'mongodump.plan.json'), 'utf8'));
  } catch (e) {
    return {};
  }
})();
const mode = plan.mode || 'ok';
const argv = process.argv.slice(2);
const violations = [];
const report = {mode, argv, env: {...process.env}, config: null, violations};

function writeReport() {
  fs.writeFileSync(path.join(here, 'mongodump.report.json'), JSON.stringify(report, null, 1));
}

// ---------------------------------------------------------------------- the checks --

if (!argv.length || !argv[0].startsWith('--config=')) violations.push('argv[1] is not --config=<file>');
if (argv.filter((a) => a.startsWith('--config')).length !== 1) violations.push('not exactly one --config');
if (!argv.includes('--archive')) violations.push('no --archive');
for (const arg of argv) {
  if (arg.startsWith('--archive=')) violations.push(`archive to a file: ${arg}`);
  if (/^(--password|-p$|-p=|--uri)/.test(arg)) violations.push(`secret-bearing flag in argv: ${arg}`);
  if (/mongodb(\+srv)?:\/\//.test(arg)) violations.push(`connection string in argv: ${arg}`);
  if (arg === '--gzip') violations.push('--gzip (the pipeline compresses)');
}

// plan.env_names: the expected variable names (default PATH and LC_ALL; a DOCKER_EXEC test
// adds what the container's shell exports, such as PWD).
const envNames = Object.keys(process.env).sort();
const expectedEnv = (plan.env_names || ['LC_ALL', 'PATH']).slice().sort();
if (JSON.stringify(envNames) !== JSON.stringify(expectedEnv)) {
  violations.push(`environment is not exactly ${expectedEnv.join(',')}: ${envNames.join(',')}`);
}
if (process.env.LC_ALL !== 'C.UTF-8') violations.push(`LC_ALL is ${process.env.LC_ALL}`);
for (const name of envNames) {
  if (name.startsWith('BACKUPY_')) violations.push(`agent variable ${name} in the environment`);
}

const configArg = argv.find((a) => a.startsWith('--config='));
if (configArg) {
  const file = configArg.slice('--config='.length);
  const config = {path: file, mode: null, owner_ok: false, values: {}};
  report.config = config;
  try {
    const st = fs.lstatSync(file);
    config.mode = (st.mode & 0o777).toString(8);
    config.owner_ok = st.uid === process.getuid();
    if (!st.isFile()) violations.push('--config is not a regular file');
    if ((st.mode & 0o777) !== 0o600) violations.push(`--config mode ${config.mode}, not 600`);
    if (!config.owner_ok) violations.push('--config not owned by our uid');
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const m = /^(\w+): '((?:[^']|'')*)'$/.exec(line);
      if (!m) {
        violations.push(`unparsable --config line: ${line}`);
        continue;
      }
      if (!['password', 'uri', 'sslPEMKeyPassword'].includes(m[1])) {
        violations.push(`--config key mongodump does not read: ${m[1]}`);
      }
      config.values[m[1]] = m[2].replace(/''/g, "'");
    }
  } catch (e) {
    violations.push(`--config unreadable: ${e.message}`);
  }
  for (const secret of [config.values.password, config.values.uri]) {
    if (secret && secret.length >= 3 && argv.some((a) => a.includes(secret))) {
      violations.push('a --config secret appears in argv');
    }
  }
}
writeReport();

// ---------------------------------------------------------------------- the output --

function writeAll(buffer) {
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(1, buffer, offset);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

// A BSON document of string and int32 fields (all an archive header needs).
function bsonDoc(fields) {
  const parts = [];
  for (const [key, value] of Object.entries(fields)) {
    const name = Buffer.from(`${key}\0`);
    if (typeof value === 'number') {
      const v = Buffer.alloc(4);
      v.writeInt32LE(value);
      parts.push(Buffer.from([0x10]), name, v);
    } else {
      const s = Buffer.from(`${value}\0`);
      const n = Buffer.alloc(4);
      n.writeInt32LE(s.length);
      parts.push(Buffer.from([0x02]), name, n, s);
    }
  }
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32LE(body.length + 5);
  return Buffer.concat([size, body, Buffer.from([0])]);
}

const MAGIC = Buffer.from([0x6d, 0xe2, 0x99, 0x81]);

function archiveHead() {
  const db = (argv.find((a) => a.startsWith('--db=')) || '--db=app').slice(5);
  return Buffer.concat([
    MAGIC,
    bsonDoc({concurrent_collections: 4, version: '0.1', server_version: '7.0.5',
             tool_version: '100.9.4'}),
    bsonDoc({db, collection: 'orders', metadata: '{"indexes":[]}', size: 0, type: 'collection'}),
    Buffer.from([0xff, 0xff, 0xff, 0xff]),
  ]);
}

function archive(total, seed) {
  const hash = crypto.createHash('sha256');
  let written = 0;
  const emit = (buffer) => {
    hash.update(buffer);
    writeAll(buffer);
    written += buffer.length;
  };
  emit(archiveHead().subarray(0, total));
  // 1 MiB of seed-derived bytes, each chunk stamped with its index.
  const block = crypto.pbkdf2Sync(String(seed), 'fake-mongodump', 1, 1 << 20, 'sha256');
  for (let i = 0; written < total; ++i) {
    block.writeUInt32LE(i, 0);
    emit(block.subarray(0, Math.min(block.length, total - written)));
  }
  report.output = {bytes: written, sha256: hash.digest('hex')};
  writeReport();
}

switch (mode) {
  case 'ok':
    archive(plan.bytes === undefined ? 1 << 20 : plan.bytes, plan.seed || 'seed');
    process.exit(0);
    break;
  case 'auth-fail': {
    const values = (report.config && report.config.values) || {};
    process.stderr.write('2026-11-22T09:00:00.000+0000\twriting app.orders to archive on stdout\n');
    process.stderr.write('2026-11-22T09:00:00.001+0000\tFailed: can\'t create session: failed to ' +
                         `connect to ${values.uri || 'mongodb://localhost/'}: connection() error ` +
                         'occurred during connection handshake: auth error: sasl conversation ' +
                         'error: unable to authenticate using mechanism "SCRAM-SHA-256": ' +
                         '(AuthenticationFailed) Authentication failed. (tried password ' +
                         `${values.password || ''})\n`);
    process.exit(1);
    break;
  }
  case 'no-magic':
    writeAll(Buffer.from('this is not a mongodump archive\n'.repeat(100)));
    process.exit(0);
    break;
  case 'empty':
    process.exit(0);
    break;
  case 'kill-midway':
    writeAll(Buffer.concat([archiveHead(), Buffer.alloc(256 * 1024, 0x42)]));
    process.kill(process.pid, 'SIGKILL');
    break;
  case 'slow':
    writeAll(archiveHead());
    setInterval(() => writeAll(Buffer.alloc(4096, 0x42)), 50);
    break;
  default:
    process.stderr.write(`fake mongodump: unknown plan mode ${mode}\n`);
    process.exit(3);
}
