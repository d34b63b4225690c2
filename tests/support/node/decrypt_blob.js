#!/usr/bin/env node
// An independent reader of encrypted blob format v1 (docs/formats/encrypted-blob-v1.md),
// written from the format document with Node's crypto, to cross-check the C++ writer.
//
//   node decrypt_blob.js --key-hex HEX64 --in BLOB --out FILE
//
// Writes the decrypted bytes (the still-compressed zstd stream) to FILE. Exit 0 on success;
// exit 1 with a message on stderr on any error, wrong usage included (FILE is then removed).
//
// Format: frames of [u32 BE frame_len][12-byte nonce][ciphertext][16-byte tag], each
// AES-256-GCM with the DEK, the frame's nonce, no AAD; frame_len = 12 + n + 16 must lie in
// [28, 1048604]; the blob ends with a zero frame_len and nothing after it.
'use strict';

const crypto = require('crypto');
const fs = require('fs');

const kLenBytes = 4;
const kNonceBytes = 12;
const kTagBytes = 16;
const kMinFrame = kNonceBytes + kTagBytes;    // 28: an empty chunk
const kMaxFrame = (1 << 20) + kMinFrame;      // 1048604: a full 1 MiB chunk


function usage(message) {
  process.stderr.write(`decrypt_blob: ${message}\n` +
                       'usage: node decrypt_blob.js --key-hex HEX64 --in BLOB --out FILE\n');
  process.exit(1);
}

function parseArgs(argv) {
  const options = {keyHex: null, in: null, out: null};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${flag} needs a value`);
    switch (flag) {
      case '--key-hex': options.keyHex = value; break;
      case '--in': options.in = value; break;
      case '--out': options.out = value; break;
      default: usage(`unknown option '${flag}'`);
    }
  }
  if (!options.keyHex || !options.in || !options.out) usage('--key-hex, --in and --out are required');
  return options;
}

// Reads exactly `length` bytes at `position` (fewer only at the end of the file).
function readAt(fd, length, position) {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const n = fs.readSync(fd, buffer, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

function decrypt(key, inFd, outFd) {
  let position = 0;
  for (let frame = 1;; ++frame) {
    const lenBytes = readAt(inFd, kLenBytes, position);
    if (lenBytes.length === 0) throw new Error('truncated blob: missing terminator');
    if (lenBytes.length < kLenBytes) {
      throw new Error(`truncated blob: input ended inside frame ${frame}`);
    }
    position += kLenBytes;
    const frameLen = lenBytes.readUInt32BE(0);
    if (frameLen === 0) {
      if (readAt(inFd, 1, position).length !== 0) throw new Error('data after the terminator');
      return;
    }
    if (frameLen < kMinFrame) {
      throw new Error(`frame ${frame}: length ${frameLen} is below the minimum ${kMinFrame}`);
    }
    if (frameLen > kMaxFrame) {
      throw new Error(`frame ${frame}: length ${frameLen} is above the maximum ${kMaxFrame}`);
    }
    const body = readAt(inFd, frameLen, position);
    if (body.length < frameLen) {
      throw new Error(`truncated blob: input ended inside frame ${frame}`);
    }
    position += frameLen;
    const nonce = body.subarray(0, kNonceBytes);
    const ciphertext = body.subarray(kNonceBytes, frameLen - kTagBytes);
    const tag = body.subarray(frameLen - kTagBytes);
    let plaintext;
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, nonce, {authTagLength: kTagBytes});
      decipher.setAuthTag(tag);
      plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch (e) {
      throw new Error(`frame ${frame}: authentication failed (wrong key or corrupted data)`);
    }
    let written = 0;
    while (written < plaintext.length) {
      written += fs.writeSync(outFd, plaintext, written, plaintext.length - written);
    }
  }
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!/^[0-9a-fA-F]{64}$/.test(options.keyHex)) {
    usage('--key-hex must be 64 hex characters (a 32-byte key)');
  }
  const key = Buffer.from(options.keyHex, 'hex');
  let inFd, outFd;
  try {
    inFd = fs.openSync(options.in, 'r');
    outFd = fs.openSync(options.out, 'w', 0o600);
    decrypt(key, inFd, outFd);
    fs.fsyncSync(outFd);
    fs.closeSync(outFd);
    fs.closeSync(inFd);
  } catch (e) {
    if (outFd !== undefined) {
      try { fs.closeSync(outFd); } catch (ignored) {}
      try { fs.unlinkSync(options.out); } catch (ignored) {}
    }
    const message = e.message;
    process.stderr.write(`decrypt_blob: ${message}\n`);
    process.exit(1);
  }
}

main();
