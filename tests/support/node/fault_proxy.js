#!/usr/bin/env node
// A fault-injecting reverse HTTP proxy for integration tests.
//
//   node fault_proxy.js --target http://127.0.0.1:PORT (--plan JSON | --plan-file FILE)
//                       [--port N] [--address 127.0.0.1]
//
// The plan is a JSON array of steps, consumed one per request in arrival order; once it is
// exhausted every request passes. Steps:
//   "pass"                  forward to the target (path and query unchanged), relay the answer
//   "500", "429", "403"...  read the whole request body, then answer with that status and an
//                           S3-style XML error (Connection: close); nothing is forwarded
//   "503:retry-after=1"     idem, with a Retry-After: 1 header
//   "reset-after:N"         forward nothing; destroy the client socket (RST where the runtime
//                           can) once N request-body bytes were read (or at the end of a
//                           shorter body)
//   "stall"                 read the headers (and the body, if the client sends it), never
//                           answer; the exchange ends when the client gives up
//
// stdout: first {"port":N} once listening, then one JSON line per request when it is over:
//   {"seq", "method", "path", "content_length", "transfer_encoding", "content_type",
//    "action", "body_bytes_received", "status", "outcome"}
// seq numbers requests in arrival order (lines are written in completion order). path never
// carries the query string (presigned URLs keep their signature there); content_length is a
// number or null, transfer_encoding and content_type a string or null, status the HTTP status
// sent to the client (null if none), outcome "responded" | "reset" | "client-closed".
// Exits on SIGTERM/SIGINT.
'use strict';

const fs = require('fs');
const http = require('http');
const {makeUsage, parseFlags, fail} = require('./lib/cli');

const usage = makeUsage('fault_proxy',
                        'node fault_proxy.js --target http://HOST:PORT ' +
                        '(--plan JSON | --plan-file FILE) [--port N] [--address ADDR]');

function parseStep(text) {
  if (typeof text !== 'string') throw new Error(`plan step ${JSON.stringify(text)} is not a string`);
  if (text === 'pass' || text === 'stall') return {kind: text, text};
  let m = /^reset-after:(\d+)$/.exec(text);
  if (m) return {kind: 'reset', after: Number(m[1]), text};
  m = /^(\d{3})(?::(.*))?$/.exec(text);
  if (m) {
    const step = {kind: 'status', status: Number(m[1]), headers: {}, text};
    for (const option of (m[2] ? m[2].split(',') : [])) {
      const kv = /^retry-after=(\d+)$/.exec(option);
      if (!kv) throw new Error(`plan step '${text}': unknown option '${option}'`);
      step.headers['Retry-After'] = kv[1];
    }
    if (step.status < 100 || step.status > 599) throw new Error(`plan step '${text}': bad status`);
    return step;
  }
  throw new Error(`unknown plan step '${text}'`);
}

function parseArgs(argv) {
  const options = {port: 0, address: '127.0.0.1', target: null, plan: []};
  let planText = null;
  parseFlags(argv, options, (flag, value) => {
    switch (flag) {
      case '--target': options.target = new URL(value); return true;
      case '--plan': planText = value; return true;
      case '--plan-file': planText = fs.readFileSync(value, 'utf8'); return true;
      default: return false;
    }
  }, usage);
  if (!options.target || options.target.protocol !== 'http:') usage('--target http://HOST:PORT is required');
  if (planText !== null) {
    const plan = JSON.parse(planText);
    if (!Array.isArray(plan)) usage('the plan must be a JSON array of strings');
    options.plan = plan.map(parseStep);
  }
  return options;
}

const kReasons = {403: 'AccessDenied', 404: 'NoSuchKey', 408: 'RequestTimeout', 429: 'SlowDown',
                  500: 'InternalError', 503: 'SlowDown'};

function errorBody(status) {
  const code = kReasons[status] || 'InjectedFault';
  return '<?xml version="1.0" encoding="UTF-8"?>\n' +
         `<Error><Code>${code}</Code><Message>injected by fault_proxy</Message></Error>\n`;
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  let nextSeq = 0;

  const server = http.createServer((req, res) => {
    const seq = nextSeq++;
    const step = options.plan[seq] || {kind: 'pass', text: 'pass'};
    const contentLength = req.headers['content-length'];
    const record = {
      seq,
      method: req.method,
      path: req.url.split('?')[0].split('#')[0],
      content_length: contentLength === undefined ? null : Number(contentLength),
      transfer_encoding: req.headers['transfer-encoding'] ?? null,
      content_type: req.headers['content-type'] ?? null,
      action: step.text,
      body_bytes_received: 0,
      status: null,
      outcome: null,
    };
    let logged = false;
    const log = (outcome) => {
      if (logged) return;
      logged = true;
      record.outcome = outcome;
      process.stdout.write(JSON.stringify(record) + '\n');
    };
    const socket = req.socket;
    socket.on('close', () => log(record.status === null ? 'client-closed' : 'responded'));
    res.on('finish', () => log('responded'));
    req.on('data', (chunk) => { record.body_bytes_received += chunk.length; });

    const respond = (status, headers, body) => {
      record.status = status;
      res.writeHead(status, {'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body),
                             Connection: 'close', ...headers});
      res.end(body);
    };

    switch (step.kind) {
      case 'status':
        req.on('end', () => respond(step.status, step.headers, errorBody(step.status)));
        break;
      case 'stall':
        req.resume();  // consume the body, never answer
        break;
      case 'reset': {
        const reset = () => {
          req.pause();
          log('reset');
          if (socket.resetAndDestroy) socket.resetAndDestroy(); else socket.destroy();
        };
        if (step.after === 0) return reset();
        req.on('data', () => { if (record.body_bytes_received >= step.after) reset(); });
        req.on('end', reset);
        break;
      }
      case 'pass': {
        const upstream = http.request({
          host: options.target.hostname,
          port: options.target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        }, (answer) => {
          record.status = answer.statusCode;
          res.writeHead(answer.statusCode, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', (e) => {
          if (!res.headersSent) {
            respond(502, {}, errorBody(502) + `<!-- ${e.code || e.message} -->\n`);
          } else {
            socket.destroy();
          }
        });
        req.on('aborted', () => upstream.destroy());
        req.pipe(upstream);
        break;
      }
    }
  });
  // Stalls must last until the client gives up: no server-side request or idle limits.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 5000;
  server.timeout = 0;

  server.on('error', (e) => {
    process.stderr.write(`fault_proxy: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(options.port, options.address, () => {
    process.stdout.write(JSON.stringify({port: server.address().port}) + '\n');
  });

  const shutdown = () => process.exit(0);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

try {
  main();
} catch (e) {
  fail('fault_proxy', e);
}
