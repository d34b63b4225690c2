// A minimal BSON (https://bsonspec.org/spec.html) encoder/decoder for the fake MongoDB
// tools: the handful of types a driver's handshake, commands and SCRAM conversation use.
// Kept by hand (no npm dependency) because fake_mongod.js needs only these.
//
// JS -> BSON: string 0x02, integer number in int32 range 0x10 (other numbers 0x01 double),
// bigint 0x12 int64, boolean 0x08, null/undefined 0x0A, Date 0x09, Buffer 0x05 (subtype 0),
// Array 0x04, plain object 0x03, Double(x) forces 0x01.
// BSON -> JS: the same plus ObjectId (0x07) and Decimal128 (0x13) as raw Buffers, timestamp
// (0x11) as a bigint; anything else throws.
'use strict';

class Double {
  constructor(value) { this.value = value; }
}

function cstring(text) {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.includes(0)) throw new Error(`BSON key or cstring with a NUL: ${text}`);
  return Buffer.concat([bytes, Buffer.from([0])]);
}

function int32(value) {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  return b;
}

function element(key, value) {
  const name = cstring(key);
  if (value instanceof Double) {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value.value);
    return Buffer.concat([Buffer.from([0x01]), name, b]);
  }
  if (typeof value === 'string') {
    const s = Buffer.from(value, 'utf8');
    return Buffer.concat([Buffer.from([0x02]), name, int32(s.length + 1), s, Buffer.from([0])]);
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) {
      return Buffer.concat([Buffer.from([0x10]), name, int32(value)]);
    }
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    return Buffer.concat([Buffer.from([0x01]), name, b]);
  }
  if (typeof value === 'bigint') {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(value);
    return Buffer.concat([Buffer.from([0x12]), name, b]);
  }
  if (typeof value === 'boolean') return Buffer.concat([Buffer.from([0x08]), name, Buffer.from([value ? 1 : 0])]);
  if (value === null || value === undefined) return Buffer.concat([Buffer.from([0x0a]), name]);
  if (value instanceof Date) {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(value.getTime()));
    return Buffer.concat([Buffer.from([0x09]), name, b]);
  }
  if (Buffer.isBuffer(value)) {
    return Buffer.concat([Buffer.from([0x05]), name, int32(value.length), Buffer.from([0]), value]);
  }
  if (Array.isArray(value)) {
    const asObject = {};
    value.forEach((v, i) => { asObject[String(i)] = v; });
    return Buffer.concat([Buffer.from([0x04]), name, encode(asObject)]);
  }
  if (typeof value === 'object') return Buffer.concat([Buffer.from([0x03]), name, encode(value)]);
  throw new Error(`cannot encode ${typeof value} as BSON (key ${key})`);
}

function encode(object) {
  const body = Buffer.concat(Object.entries(object).map(([k, v]) => element(k, v)));
  return Buffer.concat([int32(body.length + 5), body, Buffer.from([0])]);
}

function readCstring(buf, at) {
  const end = buf.indexOf(0, at);
  if (end < 0) throw new Error('BSON cstring without NUL');
  return [buf.toString('utf8', at, end), end + 1];
}

// Decodes the document at offset; returns [object, offset after it].
function decodeAt(buf, offset, asArray = false) {
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > buf.length) throw new Error(`bad BSON document size ${size}`);
  const end = offset + size - 1;
  if (buf[end] !== 0) throw new Error('BSON document not NUL-terminated');
  const out = asArray ? [] : {};
  let at = offset + 4;
  while (at < end) {
    const type = buf[at++];
    let key;
    [key, at] = readCstring(buf, at);
    let value;
    switch (type) {
      case 0x01: value = buf.readDoubleLE(at); at += 8; break;
      case 0x02: {
        const n = buf.readInt32LE(at);
        value = buf.toString('utf8', at + 4, at + 4 + n - 1);
        at += 4 + n;
        break;
      }
      case 0x03: [value, at] = decodeAt(buf, at); break;
      case 0x04: [value, at] = decodeAt(buf, at, true); break;
      case 0x05: {
        const n = buf.readInt32LE(at);
        value = Buffer.from(buf.subarray(at + 5, at + 5 + n));
        at += 5 + n;
        break;
      }
      case 0x07: value = Buffer.from(buf.subarray(at, at + 12)); at += 12; break;
      case 0x08: value = buf[at] !== 0; at += 1; break;
      case 0x09: value = new Date(Number(buf.readBigInt64LE(at))); at += 8; break;
      case 0x0a: value = null; break;
      case 0x10: value = buf.readInt32LE(at); at += 4; break;
      case 0x11: value = buf.readBigUInt64LE(at); at += 8; break;
      case 0x12: value = buf.readBigInt64LE(at); at += 8; break;
      case 0x13: value = Buffer.from(buf.subarray(at, at + 16)); at += 16; break;
      default: throw new Error(`unsupported BSON type 0x${type.toString(16)} (key ${key})`);
    }
    if (asArray) out.push(value); else out[key] = value;
  }
  return [out, offset + size];
}

function decode(buf) {
  return decodeAt(buf, 0)[0];
}

module.exports = {encode, decode, decodeAt, Double};
