#!/usr/bin/env node
// A local S3 for integration tests: s3rver (npm, pinned in package-lock.json) on loopback.
//
//   node s3rver_main.js --dir DIR --bucket NAME [--port N] [--address 127.0.0.1]
//
// Creates the bucket, then prints exactly one JSON line {"port":N} on stdout once listening
// (port 0 = any free port) and nothing else: s3rver's own logging is silenced. Exits 0 on
// SIGTERM/SIGINT, 1 with a message on stderr if it cannot start.
//
// s3rver 3.7.1 accepts SigV4 presigned URLs without verifying the signature: it only checks
// that the X-Amz-* parameters are present, that the access key id (the part of X-Amz-Credential
// before the first "/") is "S3RVER", and that X-Amz-Date + X-Amz-Expires is not in the past.
'use strict';

const fs = require('fs');
const {makeUsage, parseFlags, fail} = require('./lib/cli');

const usage = makeUsage('s3rver_main',
                        'node s3rver_main.js --dir DIR --bucket NAME [--port N] [--address ADDR]');

function parseArgs(argv) {
  const options = {port: 0, address: '127.0.0.1', dir: null, bucket: null};
  parseFlags(argv, options, (flag, value) => {
    switch (flag) {
      case '--dir': options.dir = value; return true;
      case '--bucket': options.bucket = value; return true;
      default: return false;
    }
  }, usage);
  if (!options.dir) usage('--dir is required');
  if (!options.bucket) usage('--bucket is required');
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  let S3rver;
  try {
    S3rver = require('s3rver');
  } catch (e) {
    throw new Error('cannot load s3rver (run scripts/setup.sh to install tests/support/node ' +
                    `dependencies): ${e.message}`);
  }
  fs.mkdirSync(options.dir, {recursive: true});
  const server = new S3rver({
    address: options.address,
    port: options.port,
    directory: options.dir,
    silent: true,
    configureBuckets: [{name: options.bucket}],
  });
  const address = await server.run();
  process.stdout.write(JSON.stringify({port: address.port}) + '\n');

  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    // Open keep-alive connections would hold close() up: drop them.
    setTimeout(() => process.exit(0), 500).unref();
    server.close().then(() => process.exit(0), () => process.exit(0));
    if (server.httpServer && server.httpServer.closeAllConnections) {
      server.httpServer.closeAllConnections();
    }
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((e) => fail('s3rver_main', e));
