// The group (docs/protocol.md 1.-3.), as tally/group.py: the prime-order subgroup of Ed25519 on
// @noble/curves, its scalars and points with their strict encodings, hashing to a scalar, and the
// byte and hex helpers every other module uses. Also TallyError, the one error class of js/tally/.

import { ed25519 } from "@noble/curves/ed25519.js";
import { normalizeZ } from "@noble/curves/abstract/curve.js";
import { sha512 } from "@noble/hashes/sha2.js";

/** @typedef {InstanceType<typeof ed25519.Point>} Point */

const ENCODER = new TextEncoder();
const Pt = ed25519.Point;
/** Order of the prime-order subgroup (2.). */
export const L = Pt.Fn.ORDER;
/** The base point G and the identity (neutral element). */
export const G = Pt.BASE;
export const IDENTITY = Pt.ZERO;

/**
 * Every error js/tally/ raises. `code` is a stable machine-readable kind that the booth maps to
 * a Vietnamese and English message; `message` is English and never holds a secret.
 */
export class TallyError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = "TallyError";
    this.code = code;
  }
}

export const fail = (code, message) => {
  throw new TallyError(code, message);
};

// --- bytes and hex -------------------------------------------------------------------------------

/** UTF-8 bytes of a string (refuses lone surrogates, which UTF-8 cannot encode). */
export function utf8(text) {
  if (!isWellFormed(text)) fail("encoding", "text must be valid Unicode (no lone surrogates)");
  return ENCODER.encode(text);
}

/** @param {...Uint8Array} parts */
export function concatBytes(...parts) {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `n` as 4 bytes big-endian (1.). */
export function u32(n) {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) fail("value", "u32 out of range");
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lowercase hex of bytes. */
export function toHex(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/**
 * Strict lowercase hex to bytes: a string of exactly `2 * size` characters from [0-9a-f]
 * (size omitted: any even length). Uppercase is refused, as everywhere in the protocol's JSON.
 */
export function fromHex(text, size, what = "value") {
  if (typeof text !== "string") fail("hex", `the ${what} must be a hex string`);
  if (size !== undefined && text.length !== 2 * size)
    fail("hex", `the ${what} must be ${2 * size} hex characters`);
  if (text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text))
    fail("hex", `the ${what} must be lowercase hex`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToBigLE(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function bigToBytesLE(n, size) {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    out[i] = Number(n & 255n);
    n >>= 8n;
  }
  return out;
}

/** Bytes from bytes, or from exactly 32 bytes of hex (a fingerprint, a head, a tracking hash). */
export function bytes32(value, what) {
  return typeof value === "string" ? fromHex(value, 32, what) : value;
}

/** Is this string valid Unicode (no lone surrogate), i.e. encodable as UTF-8? */
export function isWellFormed(s) {
  if (typeof s !== "string") return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

// --- scalars (2.1, 2.2) --------------------------------------------------------------------------

/** k mod L, always in [0, L). */
export function modL(k) {
  const r = k % L;
  return r < 0n ? r + L : r;
}

/** 32 bytes little-endian; requires 0 <= k < L. */
export function encodeScalar(k) {
  if (typeof k !== "bigint" || k < 0n || k >= L) fail("scalar", "scalar out of range");
  return bigToBytesLE(k, 32);
}

/** Untrusted bytes: 32 bytes little-endian, strictly below L (no other encoding of a residue). */
export function decodeScalar(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32)
    fail("scalar", "a scalar must be 32 bytes");
  const k = bytesToBigLE(bytes);
  if (k >= L) fail("scalar", "non-canonical scalar (not reduced modulo L)");
  return k;
}

export function scalarHex(k) {
  return toHex(encodeScalar(k));
}

export function scalarFromHex(text) {
  return decodeScalar(fromHex(text, 32, "scalar"));
}

/** A uniformly random non-zero scalar: 64 random bytes reduced modulo L (6.). */
export function randomScalar() {
  const c = globalThis.crypto;
  if (!c || typeof c.getRandomValues !== "function")
    fail("random", "no secure random number generator (crypto.getRandomValues)");
  for (;;) {
    const k = bytesToBigLE(c.getRandomValues(new Uint8Array(64))) % L;
    if (k !== 0n) return k;
  }
}

// --- points (2.1 - 2.3) --------------------------------------------------------------------------

const IDENTITY_BYTES = new Uint8Array(32);
IDENTITY_BYTES[0] = 1;

/**
 * Untrusted bytes to a point of the prime-order subgroup (2.2): exactly 01 00..00 is the
 * identity; anything else must be the canonical RFC 8032 encoding (y < p, no x = 0 with the sign
 * bit) of a point P with L·P = identity, which also refuses the 8 points of small order.
 */
export function decodePoint(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32)
    fail("point", "a point must be 32 bytes");
  if (equalBytes(bytes, IDENTITY_BYTES)) return IDENTITY;
  let P;
  try {
    P = Pt.fromBytes(bytes, false); // strict RFC 8032 5.1.3: refuses y >= p and x = 0 with sign 1
  } catch {
    fail("point", "not a canonical point of the prime-order subgroup");
  }
  // The identity has the one encoding handled above; small-order points and points with a
  // torsion component fail L·P = identity (L is odd, so no small-order point survives).
  if (P.is0() || !P.isTorsionFree() || !equalBytes(P.toBytes(), bytes))
    fail("point", "not a canonical point of the prime-order subgroup");
  return P;
}

/**
 * A point's extended coordinates (X, Y, Z, T: bigints), as structured clone carries them between
 * a worker and its page, and back. Only for points this code made (never for received bytes: they
 * go through decodePoint).
 */
export function pointToCoordinates(P) {
  return [P.X, P.Y, P.Z, P.T];
}

export function pointFromCoordinates([X, Y, Z, T]) {
  return new Pt(X, Y, Z, T);
}

export function pointFromHex(text) {
  return decodePoint(fromHex(text, 32, "point"));
}

/** The 32-byte encoding of a point (the identity encodes as 01 00..00). */
export function encodePoint(P) {
  return P.toBytes();
}

export function pointHex(P) {
  return toHex(P.toBytes());
}

/**
 * k·P with k reduced modulo L first; k ≡ 0 or P the identity gives the identity (2.3).
 *
 * noble's multiply() refuses 0 and blinds secret scalars on the base point; multiplyUnsafe()
 * takes 0 and, for a point with a precomputed table (G, and the joint key Y, see pollContext),
 * runs the same fixed-window kernel without the blinding. JavaScript's BigInt arithmetic is not
 * constant-time in any case; the encryptor runs on the voter's own device.
 */
export function mul(P, k) {
  const s = modL(k);
  if (s === 0n || P.is0()) return IDENTITY;
  return P.multiplyUnsafe(s);
}

/** k·G with the base point's precomputed table. */
export function mulG(k) {
  const s = modL(k);
  return s === 0n ? IDENTITY : G.multiplyUnsafe(s);
}

// A few decoded points with a large precomputed table (the joint key is multiplied 3 times per
// ciphertext and proof, so a W=8 table pays for itself within one ballot). Keyed by hex.
const TABLES = new Map();

export function precomputedPoint(hex) {
  let P = TABLES.get(hex);
  if (!P) {
    P = pointFromHex(hex);
    if (!P.is0()) P.precompute(8);
    if (TABLES.size >= 4) TABLES.delete(TABLES.keys().next().value);
    TABLES.set(hex, P);
  }
  return P;
}

// Encode several points with one field inversion (Montgomery's trick) instead of one each.
export function encodeAll(points) {
  return normalizeZ(Pt, points).map((P) => P.toBytes());
}

// --- hash to scalar (3.) -------------------------------------------------------------------------

/**
 * H(tag, part_1, ..., part_n) = SHA512(u32(len T) ‖ T ‖ u32(len p1) ‖ p1 ‖ ...) read little-endian
 * mod L, T the UTF-8 tag. Parts are bytes (points as their 32-byte encodings).
 * @param {string} tag @param {...Uint8Array} parts
 */
export function hashToScalar(tag, ...parts) {
  const h = sha512.create();
  for (const item of [utf8(tag), ...parts]) {
    if (!(item instanceof Uint8Array)) fail("value", "hash parts must be bytes");
    h.update(u32(item.length));
    h.update(item);
  }
  return bytesToBigLE(h.digest()) % L;
}

/** The exact preimage hashed by hashToScalar (for tests and independent checks). */
export function hashToScalarPreimage(tag, ...parts) {
  const chunks = [];
  for (const item of [utf8(tag), ...parts]) chunks.push(u32(item.length), item);
  return concatBytes(...chunks);
}
