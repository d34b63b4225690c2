#!/usr/bin/env node
// A fake mongod: just enough of the MongoDB wire protocol for a driver's connection test.
//
// Why it exists: no MongoDB server can be installed on the machines this project is built
// and tested on (Debian 12 ships no mongod, npm has no server either, and
// mongodb-memory-server downloads binaries from the internet, which is blocked). So the
// MongoDB driver's probe (libmongoc) is tested against this double, which speaks the *real*
// wire format, so that libmongoc runs its real handshake, authentication and commands:
//
//   - OP_QUERY (2004) on <db>.$cmd (the legacy isMaster handshake) answered with OP_REPLY (1);
//   - OP_MSG (2013) for everything else (kind 0 body + kind 1 document sequences), answered
//     with OP_MSG; no compression is offered, so OP_COMPRESSED never arrives;
//   - hello / isMaster: a standalone primary, minWireVersion 0, maxWireVersion 21 (MongoDB
//     7.0), saslSupportedMechs ["SCRAM-SHA-256"] when the handshake asks for it; no
//     logicalSessionTimeoutMinutes (so clients use no sessions); speculativeAuthenticate is
//     ignored, which makes clients run the full conversation;
//   - saslStart / saslContinue: SCRAM-SHA-256 (RFC 5802 + RFC 7677) for the one user given
//     with --user/--password on "admin", verified the way mongod does (PBKDF2-HMAC-SHA-256,
//     4096 iterations, ClientProof checked against StoredKey, ServerSignature returned).
//     The password is used as given (ASCII in the tests: SASLprep is then the identity).
//     A wrong password or unknown user: {ok: 0, errmsg: "Authentication failed.", code: 18,
//     codeName: "AuthenticationFailed"}, as mongod answers;
//   - buildInfo ({version}), ping, listDatabases (nameOnly or not), dbStats ({dataSize}),
//     endSessions; listDatabases and dbStats need an authenticated connection when a user is
//     configured (code 13 Unauthorized otherwise); anything else: code 59 CommandNotFound.
//
//   node fake_mongod.js [--port N] [--address A] [--socket PATH] [--version 7.0.5]
//                       [--user U --password P] [--databases app:123456,other:0]
//
// --databases: the databases listDatabases reports, each with the dataSize dbStats reports.
// stdout: {"port":N} once listening, then one JSON line per command:
//   {"conn": n, "op": "OP_QUERY"|"OP_MSG", "command": "buildInfo", "db": "admin", "ok": 1,
//    "authenticated": false}
// Exits on SIGTERM/SIGINT.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const {makeUsage, parseFlags, fail} = require('./lib/cli');
const bson = require('./lib/mini_bson');

const usage = makeUsage('fake_mongod',
                        'node fake_mongod.js [--port N] [--address A] [--socket PATH] ' +
                        '[--version V] [--user U --password P] [--databases name:size,...]');

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const ITERATIONS = 4096;

function parseArgs(argv) {
  const options = {port: 0, address: '127.0.0.1', socket: null, version: '7.0.5', user: null,
                   password: null, databases: [{name: 'admin', size: 0}]};
  parseFlags(argv, options, (flag, value) => {
    switch (flag) {
      case '--socket': options.socket = value; return true;
      case '--version': options.version = value; return true;
      case '--user': options.user = value; return true;
      case '--password': options.password = value; return true;
      case '--databases':
        options.databases = value.split(',').filter(Boolean).map((entry) => {
          const [name, size] = entry.split(':');
          return {name, size: Number(size || 0)};
        });
        return true;
      default: return false;
    }
  }, usage);
  if ((options.user === null) !== (options.password === null)) usage('--user needs --password');
  return options;
}

const options = parseArgs(process.argv.slice(2));
let nextConnection = 1;
let nextRequestId = 1;

// ------------------------------------------------------------------------------- SCRAM --

const sha256 = (data) => crypto.createHash('sha256').update(data).digest();
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();
const xor = (a, b) => Buffer.from(a.map((byte, i) => byte ^ b[i]));

// The user's stored credentials, computed once like mongod's createUser does.
const credentials = (() => {
  if (options.user === null) return null;
  const salt = crypto.randomBytes(28);
  const salted = crypto.pbkdf2Sync(Buffer.from(options.password, 'utf8'), salt, ITERATIONS, 32,
                                    'sha256');
  const clientKey = hmac(salted, 'Client Key');
  return {salt, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key')};
})();

// "n=user,r=nonce" attributes; SASL names escape ',' and '=' as =2C and =3D.
function attributes(text) {
  const out = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out[part[0]] = part.slice(2);
  }
  return out;
}
const saslName = (text) => text.replace(/=2C/g, ',').replace(/=3D/g, '=');

const authFailed = () => ({ok: 0, errmsg: 'Authentication failed.', code: 18,
                           codeName: 'AuthenticationFailed'});

function saslStart(conn, command, db) {
  if (command.mechanism !== 'SCRAM-SHA-256') {
    return {ok: 0, errmsg: `Received authentication for mechanism ${command.mechanism} which is ` +
                           'not enabled', code: 334, codeName: 'MechanismUnavailable'};
  }
  const message = Buffer.from(command.payload || []).toString('utf8');
  // gs2 header "n,," (no channel binding, no authzid) then the client-first-message-bare.
  const m = /^n,[^,]*,(.*)$/.exec(message);
  if (!m) return {ok: 0, errmsg: 'Invalid SCRAM client-first message', code: 17, codeName: 'ProtocolError'};
  const bare = m[1];
  const attrs = attributes(bare);
  if (!credentials || db !== 'admin' || saslName(attrs.n || '') !== options.user || !attrs.r) {
    return authFailed();
  }
  const nonce = attrs.r + crypto.randomBytes(24).toString('base64');
  const serverFirst = `r=${nonce},s=${credentials.salt.toString('base64')},i=${ITERATIONS}`;
  conn.scram = {bare, serverFirst, nonce};
  return {conversationId: 1, done: false, payload: Buffer.from(serverFirst), ok: 1};
}

function saslContinue(conn, command) {
  const scram = conn.scram;
  conn.scram = null;
  if (!scram) return {ok: 0, errmsg: 'No SASL session state found', code: 17, codeName: 'ProtocolError'};
  const message = Buffer.from(command.payload || []).toString('utf8');
  const proofAt = message.lastIndexOf(',p=');
  if (proofAt < 0) return authFailed();
  const withoutProof = message.slice(0, proofAt);
  const attrs = attributes(message);
  if (attrs.r !== scram.nonce || attrs.c !== 'biws') return authFailed();
  const authMessage = `${scram.bare},${scram.serverFirst},${withoutProof}`;
  const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
  const clientSignature = hmac(credentials.storedKey, authMessage);
  if (proof.length !== 32 || !sha256(xor(proof, clientSignature)).equals(credentials.storedKey)) {
    return authFailed();
  }
  conn.authenticated = true;
  const serverSignature = hmac(credentials.serverKey, authMessage).toString('base64');
  return {conversationId: 1, done: true, payload: Buffer.from(`v=${serverSignature}`), ok: 1};
}

// ---------------------------------------------------------------------------- commands --

function hello(conn, command, name) {
  const reply = {
    helloOk: true,
    [name === 'hello' ? 'isWritablePrimary' : 'ismaster']: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48000000,
    maxWriteBatchSize: 100000,
    localTime: new Date(),
    connectionId: conn.id,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
  };
  if (typeof command.saslSupportedMechs === 'string' && credentials) {
    reply.saslSupportedMechs = ['SCRAM-SHA-256'];
  }
  reply.ok = 1;
  return reply;
}

const unauthorized = (name) => ({ok: 0, errmsg: `command ${name} requires authentication`,
                                 code: 13, codeName: 'Unauthorized'});

function dispatch(conn, command, db) {
  const name = Object.keys(command)[0] || '';
  const lower = name.toLowerCase();
  const needsAuth = credentials && !conn.authenticated;
  switch (lower) {
    case 'hello': case 'ismaster': return [name, hello(conn, command, lower)];
    case 'ping': return [name, {ok: 1}];
    case 'buildinfo': {
      const parts = options.version.split(/[.-]/).map(Number).filter((n) => !Number.isNaN(n));
      while (parts.length < 4) parts.push(0);
      return [name, {version: options.version, gitVersion: '0000000000000000000000000000000000000000',
                     versionArray: parts.slice(0, 4), bits: 64, maxBsonObjectSize: 16 * 1024 * 1024,
                     ok: 1}];
    }
    case 'saslstart': return [name, saslStart(conn, command, db)];
    case 'saslcontinue': return [name, saslContinue(conn, command)];
    case 'endsessions': return [name, {ok: 1}];
    case 'listdatabases': {
      if (needsAuth) return [name, unauthorized(name)];
      const databases = options.databases.map((d) => (
        command.nameOnly ? {name: d.name} : {name: d.name, sizeOnDisk: d.size, empty: d.size === 0}));
      const reply = {databases};
      if (!command.nameOnly) reply.totalSize = options.databases.reduce((s, d) => s + d.size, 0);
      reply.ok = 1;
      return [name, reply];
    }
    case 'dbstats': {
      if (needsAuth) return [name, unauthorized(name)];
      const found = options.databases.find((d) => d.name === db);
      const size = found ? found.size : 0;
      return [name, {db, collections: found ? 3 : 0, views: 0, objects: found ? 1000 : 0,
                     avgObjSize: new bson.Double(found ? size / 1000 : 0),
                     dataSize: new bson.Double(size), storageSize: new bson.Double(size / 2),
                     indexes: found ? 3 : 0, indexSize: new bson.Double(0), ok: new bson.Double(1)}];
    }
    default:
      return [name, {ok: 0, errmsg: `no such command: '${name}'`, code: 59,
                     codeName: 'CommandNotFound'}];
  }
}

function log(conn, op, name, db, reply) {
  process.stdout.write(JSON.stringify({conn: conn.id, op, command: name, db, ok: reply.ok ? 1 : 0,
                                       authenticated: !!conn.authenticated}) + '\n');
}

// ---------------------------------------------------------------------- wire protocol --

function header(length, responseTo, opCode) {
  const b = Buffer.alloc(16);
  b.writeInt32LE(length, 0);
  b.writeInt32LE(nextRequestId++, 4);
  b.writeInt32LE(responseTo, 8);
  b.writeInt32LE(opCode, 12);
  return b;
}

function opReply(requestId, doc) {
  const body = Buffer.alloc(20);  // responseFlags, cursorID (int64), startingFrom, numberReturned
  body.writeInt32LE(1, 16);
  const payload = Buffer.concat([body, bson.encode(doc)]);
  return Buffer.concat([header(16 + payload.length, requestId, OP_REPLY), payload]);
}

function opMsg(requestId, doc) {
  const payload = Buffer.concat([Buffer.alloc(4), Buffer.from([0]), bson.encode(doc)]);
  return Buffer.concat([header(16 + payload.length, requestId, OP_MSG), payload]);
}

function handleMessage(conn, socket, message) {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_QUERY) {
    let at = 20;  // header + flags
    const end = message.indexOf(0, at);
    const ns = message.toString('utf8', at, end);
    at = end + 1 + 8;  // numberToSkip, numberToReturn
    let [query] = bson.decodeAt(message, at);
    if (query.$query) query = query.$query;  // the wrapped form ($readPreference)
    const db = ns.split('.')[0];
    const [name, reply] = dispatch(conn, query, db);
    log(conn, 'OP_QUERY', name, db, reply);
    socket.write(opReply(requestId, reply));
    return;
  }
  if (opCode === OP_MSG) {
    const flags = message.readUInt32LE(16);
    const end = message.length - ((flags & 1) ? 4 : 0);
    let at = 20;
    let body = null;
    while (at < end) {
      const kind = message[at++];
      if (kind === 0) {
        [body, at] = bson.decodeAt(message, at);
      } else if (kind === 1) {
        const size = message.readInt32LE(at);
        const stop = at + size;
        const idEnd = message.indexOf(0, at + 4);
        const id = message.toString('utf8', at + 4, idEnd);
        const docs = [];
        let p = idEnd + 1;
        while (p < stop) {
          let doc;
          [doc, p] = bson.decodeAt(message, p);
          docs.push(doc);
        }
        (body = body || {})[id] = docs;
        at = stop;
      } else {
        throw new Error(`unknown OP_MSG section kind ${kind}`);
      }
    }
    const db = (body && body.$db) || 'admin';
    const [name, reply] = dispatch(conn, body || {}, db);
    log(conn, 'OP_MSG', name, db, reply);
    if (!(flags & 2)) socket.write(opMsg(requestId, reply));  // moreToCome: no reply
    return;
  }
  throw new Error(`unsupported opCode ${opCode}`);
}

function serve(socket) {
  const conn = {id: nextConnection++, authenticated: false, scram: null};
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    try {
      while (pending.length >= 4) {
        const length = pending.readInt32LE(0);
        if (length < 16 || length > 48000000) throw new Error(`bad message length ${length}`);
        if (pending.length < length) break;
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        handleMessage(conn, socket, message);
      }
    } catch (e) {
      process.stderr.write(`fake_mongod: connection ${conn.id}: ${e.stack || e}\n`);
      socket.destroy();
    }
  });
  socket.on('error', () => {});
}

const servers = [];
function listen(server, target) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(target, () => resolve(server));
  });
}

(async () => {
  const tcp = net.createServer(serve);
  servers.push(await listen(tcp, {port: options.port, host: options.address}));
  if (options.socket) {
    try { fs.unlinkSync(options.socket); } catch (e) { /* not there */ }
    servers.push(await listen(net.createServer(serve), options.socket));
  }
  process.stdout.write(JSON.stringify({port: tcp.address().port}) + '\n');
})().catch((e) => fail('fake_mongod', e));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (options.socket) { try { fs.unlinkSync(options.socket); } catch (e) { /* gone */ } }
    process.exit(0);
  });
}
