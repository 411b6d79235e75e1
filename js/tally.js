// The browser side of the `tally` protocol (docs/protocol.md), byte for byte compatible with the
// Python package tally/: group encodings, hashing, canonical JSON, exponential ElGamal, the three
// proofs, credentials, ballots (encrypt, sign, verify, Benaloh challenge), the board chain, the
// aggregate and the trustees' partial decryptions.
//
// The group arithmetic is @noble/curves' Ed25519 point; hashes, HKDF and scrypt are
// @noble/hashes; AES-256-GCM is @noble/ciphers (WebCrypto's crypto.subtle exists only in a secure
// context, and a conference LAN page served over plain http is not one). Section numbers in the
// comments refer to docs/protocol.md.
//
// Secrets (credential seeds, encryption randomness, trustee keys) never appear in an error
// message or a log line; the objects holding a secret keep it in a WeakMap, so JSON.stringify or
// console.log of them shows only public values.

import { ed25519 } from "@noble/curves/ed25519.js";
import { normalizeZ } from "@noble/curves/abstract/curve.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { gcm } from "@noble/ciphers/aes.js";

// --- constants -----------------------------------------------------------------------------------

/** @typedef {InstanceType<typeof ed25519.Point>} Point */

const ENCODER = new TextEncoder();
const Pt = ed25519.Point;
/** Order of the prime-order subgroup (2.). */
export const L = Pt.Fn.ORDER;
/** The base point G and the identity (neutral element). */
export const G = Pt.BASE;
export const IDENTITY = Pt.ZERO;

export const TAG_KEY = "tally/v1/trustee-key";
export const TAG_CHOICE = "tally/v1/choice-0-1";
export const TAG_SUM_ONE = "tally/v1/subject-sum-1";
export const TAG_SUM_ZERO_ONE = "tally/v1/subject-sum-0-1";
export const TAG_DECRYPT = "tally/v1/partial-decryption";

export const MANIFEST_FORMAT = "tally-manifest/1";
export const GROUP = "ed25519-prime-order-subgroup";
export const PUBLIC_FORMAT = "tally-trustee-public/1";
export const KEY_FORMAT = "tally-trustee-key/1";
export const BALLOT_FORMAT = "tally-ballot/1";
export const AGGREGATE_FORMAT = "tally-aggregate/1";
export const SHARE_FORMAT = "tally-share/1";

const SIGNATURE_PREFIX = utf8("tally/v1/ballot-signature\0");
const BOARD_TAG = utf8("tally/v1/board\0");
const COMMITMENT_TAG = utf8("tally/v1/credential-set\0");
const HKDF_INFO = utf8("tally/v1/credential-signing-key");

/** Maximum nesting of canonical JSON, as tally/canonical.py (MAX_DEPTH). */
export const MAX_DEPTH = 32;

/**
 * Every error this module raises. `code` is a stable machine-readable kind that the booth maps to
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

const fail = (code, message) => {
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

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

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

function bytesToBigLE(bytes) {
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

/** SHA-256 of bytes, as bytes. */
export function sha256Bytes(data) {
  return sha256(data);
}

/** SHA-256 of bytes, as lowercase hex. */
export function sha256Hex(data) {
  return toHex(sha256(data));
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

function precomputedPoint(hex) {
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
function encodeAll(points) {
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

// --- canonical JSON (5.) -------------------------------------------------------------------------

/** A JSON number with a fraction or exponent, kept by parseJson so canonicalJson can refuse it. */
export class JsonFloat {
  constructor(text) {
    this.text = text;
  }
}

function isWellFormed(s) {
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

// UTF-16 code unit order differs from code point order only between surrogates (U+D800-DFFF,
// which stand for code points above U+FFFF) and U+E000-FFFF; remap so surrogates sort last.
function unitRank(c) {
  if (c >= 0xd800 && c <= 0xdfff) return c + 0x2000;
  if (c >= 0xe000) return c - 0x800;
  return c;
}

/** Compare strings by Unicode code point (Python's order), not by UTF-16 code unit. */
export function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unitRank(x) - unitRank(y);
  }
  return a.length - b.length;
}

function escapeString(s) {
  if (!isWellFormed(s)) fail("canonical", "text must be valid Unicode (no lone surrogates)");
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const c = s.charCodeAt(i);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c < 0x20) out += "\\u00" + HEX[c];
    else out += ch; // '/', DEL, U+2028/2029 and all non-ASCII text raw (5.)
  }
  return out + '"';
}

function isPlainObject(v) {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function writeCanonical(v, depth, out) {
  if (depth > MAX_DEPTH) fail("canonical", `JSON nested deeper than ${MAX_DEPTH} levels`);
  if (v === null) out.push("null");
  else if (v === true) out.push("true");
  else if (v === false) out.push("false");
  else if (typeof v === "string") out.push(escapeString(v));
  else if (typeof v === "bigint") out.push(v.toString());
  else if (typeof v === "number") {
    if (!Number.isInteger(v))
      fail("canonical", "floating-point numbers are not allowed in canonical JSON");
    // Above 2^53 a double has already lost digits: such integers must arrive as BigInt.
    if (!Number.isSafeInteger(v))
      fail("canonical", "an integer beyond 2^53 must be a BigInt (parseJson keeps it exact)");
    out.push(String(v)); // -0 prints "0", as Python's int does
  } else if (v instanceof JsonFloat) {
    fail("canonical", "floating-point numbers are not allowed in canonical JSON");
  } else if (Array.isArray(v)) {
    out.push("[");
    v.forEach((item, i) => {
      if (i) out.push(",");
      writeCanonical(item, depth + 1, out);
    });
    out.push("]");
  } else if (isPlainObject(v)) {
    const keys = Object.keys(v).sort(compareCodePoints);
    out.push("{");
    keys.forEach((k, i) => {
      if (i) out.push(",");
      out.push(escapeString(k), ":");
      writeCanonical(v[k], depth + 1, out);
    });
    out.push("}");
  } else {
    fail("canonical", `type ${typeof v} is not allowed in canonical JSON`);
  }
}

/**
 * Canonical JSON as UTF-8 bytes (5.): keys sorted by code point, no whitespace, non-ASCII raw,
 * only " \ and control characters escaped, integers only (Number up to 2^53, or BigInt).
 */
export function canonicalJson(value) {
  const out = [];
  writeCanonical(value, 0, out);
  return ENCODER.encode(out.join(""));
}

/** canonicalJson as a string. */
export function canonicalJsonText(value) {
  return new TextDecoder().decode(canonicalJson(value));
}

/**
 * A strict JSON parser for documents from outside (as tally.canonical.parse_json): RFC 8259
 * grammar, no duplicate keys, nesting at most MAX_DEPTH, integers kept exact (Number when safe,
 * BigInt beyond 2^53), numbers with a fraction or exponent returned as JsonFloat.
 */
export function parseJson(text) {
  if (typeof text !== "string") {
    if (text instanceof Uint8Array) text = new TextDecoder("utf-8", { fatal: true }).decode(text);
    else fail("json", "JSON text expected");
  }
  let i = 0;
  const bad = (what) => fail("json", `invalid JSON at character ${i}: ${what}`);
  const ws = () => {
    while (i < text.length) {
      const c = text[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") i++;
      else break;
    }
  };
  const str = () => {
    i++; // opening quote
    let out = "";
    for (;;) {
      if (i >= text.length) bad("unterminated string");
      const c = text[i];
      const code = text.charCodeAt(i);
      if (c === '"') {
        i++;
        return out;
      }
      if (code < 0x20) bad("control character in a string");
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      i += 2;
      if (e === '"' || e === "\\" || e === "/") out += e;
      else if (e === "b") out += "\b";
      else if (e === "f") out += "\f";
      else if (e === "n") out += "\n";
      else if (e === "r") out += "\r";
      else if (e === "t") out += "\t";
      else if (e === "u") {
        const h = text.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(h)) bad("bad \\u escape");
        out += String.fromCharCode(parseInt(h, 16));
        i += 4;
      } else bad("bad escape");
    }
  };
  const value = (depth) => {
    if (depth > MAX_DEPTH) fail("json", `JSON nested deeper than ${MAX_DEPTH} levels`);
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj = {};
      const seen = new Set();
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') bad("object key expected");
        const key = str();
        if (seen.has(key)) fail("json", "an object has the same key twice");
        seen.add(key);
        ws();
        if (text[i] !== ":") bad("':' expected");
        i++;
        // defineProperty: a key "__proto__" is an ordinary key, not the prototype setter.
        Object.defineProperty(obj, key, {
          value: value(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return obj;
        } else bad("',' or '}' expected");
      }
    }
    if (c === "[") {
      i++;
      const arr = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return arr;
        } else bad("',' or ']' expected");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 1000));
    if (!m || m[0] === "" || m[0] === "-") bad("value expected");
    i += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new JsonFloat(m[0]);
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  };
  const result = value(0);
  ws();
  if (i !== text.length) bad("trailing characters");
  return result;
}

// --- exponential ElGamal (6.) --------------------------------------------------------------------

/** Enc(Y, m; r) = (r·G, r·Y + m·G). */
export function encrypt(Y, m, r) {
  return { a: mulG(r), b: mul(Y, r).add(mulG(BigInt(m))) };
}

export function addCiphertexts(x, y) {
  return { a: x.a.add(y.a), b: x.b.add(y.b) };
}

export const ZERO_CIPHERTEXT = Object.freeze({ a: IDENTITY, b: IDENTITY });

export function ciphertextToJson(ct) {
  const [a, b] = encodeAll([ct.a, ct.b]);
  return { a: toHex(a), b: toHex(b) };
}

/** A received ciphertext {"a", "b"} with both points checked (2.2). */
export function ciphertextFromJson(data) {
  if (!isPlainObject(data)) fail("ciphertext", "a ciphertext must be an object");
  return { a: pointFromHex(data.a), b: pointFromHex(data.b) };
}

// --- proofs (7.) ---------------------------------------------------------------------------------

function proofScalars(data, names) {
  if (!isPlainObject(data))
    fail("proof", `a proof must be an object with exactly the fields ${names.join(", ")}`);
  const keys = Object.keys(data);
  if (
    keys.length !== names.length ||
    !names.every((n) => Object.prototype.hasOwnProperty.call(data, n))
  )
    fail("proof", `a proof must be an object with exactly the fields ${names.join(", ")}`);
  return names.map((n) => scalarFromHex(data[n]));
}

/** {"c", "s"} of a Schnorr or DLEQ proof. */
export function csProofFromJson(data) {
  const [c, s] = proofScalars(data, ["c", "s"]);
  return { c, s };
}

export function csProofToJson(p) {
  return { c: scalarHex(p.c), s: scalarHex(p.s) };
}

/** {"c0", "c1", "s0", "s1"} of a 0/1 proof. */
export function zeroOneProofFromJson(data) {
  const [c0, c1, s0, s1] = proofScalars(data, ["c0", "c1", "s0", "s1"]);
  return { c0, c1, s0, s1 };
}

export function zeroOneProofToJson(p) {
  return { c0: scalarHex(p.c0), c1: scalarHex(p.c1), s0: scalarHex(p.s0), s1: scalarHex(p.s1) };
}

/**
 * Schnorr proof of knowledge of x with X = x·G (7.1). `w` is the nonce (random if omitted; given
 * only to reproduce test vectors). Returns {proof, X, U}.
 */
export function proveSchnorr(x, tag, context, w = randomScalar()) {
  const X = mulG(x);
  const U = mulG(w);
  const c = hashToScalar(tag, context, X.toBytes(), U.toBytes());
  return { proof: { c, s: modL(w + c * x) }, X, U };
}

/** U' = s·G − c·X; accept iff c = H(tag, context, X, U'). */
export function verifySchnorr(X, proof, tag, context) {
  const U = mulG(proof.s).subtract(mul(X, proof.c));
  return hashToScalar(tag, context, X.toBytes(), U.toBytes()) === proof.c;
}

/**
 * DLEQ proof that X = x·G and Z = x·H (7.2). Returns {proof, X, Z, U, V}. `H` is a point (the
 * second base), `w` the nonce (random if omitted), `XZ` = [X, Z] when the caller already has them
 * (saves two multiplications; they must be x·G and x·H, or the proof will not verify).
 */
export function proveDleq(x, H, tag, context, w = randomScalar(), XZ = undefined) {
  const X = XZ ? XZ[0] : mulG(x);
  const Z = XZ ? XZ[1] : mul(H, x);
  const U = mulG(w);
  const V = mul(H, w);
  const enc = encodeAll([H, X, Z, U, V]);
  const c = hashToScalar(tag, context, ...enc);
  return { proof: { c, s: modL(w + c * x) }, X, Z, U, V };
}

/** U' = s·G − c·X, V' = s·H − c·Z; accept iff c = H(tag, context, H, X, Z, U', V'). */
export function verifyDleq(H, X, Z, proof, tag, context) {
  const U = mulG(proof.s).subtract(mul(X, proof.c));
  const V = mul(H, proof.s).subtract(mul(Z, proof.c));
  return hashToScalar(tag, context, ...encodeAll([H, X, Z, U, V])) === proof.c;
}

/**
 * Disjunctive proof that ct = Enc(Y, m; r) encrypts m in {0, 1} (7.3). `nonces` = {w, c_sim,
 * s_sim} (random if omitted). Returns {proof, commitments: [A0, B0, A1, B1], challenge}.
 *
 * The simulated branch is computed from r rather than from (a, b): with a = r·G, b = r·Y + m·G
 * and t = s_sim − c_sim·r, its commitments s_sim·G − c_sim·a and s_sim·Y − c_sim·(b − (1−m)·G)
 * are t·G and t·Y + (1−2m)·c_sim·G. These are the same points as the equations of 7.3 (the
 * vectors check it byte for byte), made with fixed-base multiplications only (G, and Y with its
 * table) instead of two variable-base ones: about twice as fast.
 */
export function proveZeroOne(Y, ct, m, r, tag, context, nonces = undefined) {
  if (m !== 0 && m !== 1) fail("value", "m must be 0 or 1");
  const {
    w,
    c_sim: cSim,
    s_sim: sSim,
  } = nonces || {
    w: randomScalar(),
    c_sim: randomScalar(),
    s_sim: randomScalar(),
  };
  const t = modL(sSim - cSim * r);
  const real = [mulG(w), mul(Y, w)];
  // m = 0: branch 1 simulated, B1 = s·Y − c·(b − G) = t·Y + c·G.
  // m = 1: branch 0 simulated, B0 = s·Y − c·b = t·Y − c·G.
  const sim = [mulG(t), mul(Y, t).add(mulG(m === 0 ? cSim : L - cSim))];
  const commitments = m === 0 ? [...real, ...sim] : [...sim, ...real];
  const enc = encodeAll([ct.a, ct.b, ...commitments]);
  const c = hashToScalar(tag, context, ...enc);
  const cReal = modL(c - cSim);
  const sReal = modL(w + cReal * r);
  const proof =
    m === 0
      ? { c0: cReal, c1: cSim, s0: sReal, s1: sSim }
      : { c0: cSim, c1: cReal, s0: sSim, s1: sReal };
  return { proof, commitments, challenge: c };
}

/** The verifier's commitments of 7.3 (A0, B0, A1, B1) for a 0/1 proof. */
export function zeroOneCommitments(Y, ct, proof) {
  const { a, b } = ct;
  return [
    mulG(proof.s0).subtract(mul(a, proof.c0)),
    mul(Y, proof.s0).subtract(mul(b, proof.c0)),
    mulG(proof.s1).subtract(mul(a, proof.c1)),
    mul(Y, proof.s1).subtract(mul(b.subtract(G), proof.c1)),
  ];
}

/** Accept iff (c0 + c1) mod L = H(tag, context, a, b, A0, B0, A1, B1). */
export function verifyZeroOne(Y, ct, proof, tag, context) {
  const commits = zeroOneCommitments(Y, ct, proof);
  const c = hashToScalar(tag, context, ...encodeAll([ct.a, ct.b, ...commits]));
  return modL(proof.c0 + proof.c1) === c;
}

// --- credentials (10.) ---------------------------------------------------------------------------

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding. */
export function base32(bytes) {
  let out = "";
  let bits = 0;
  let acc = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

function base32Decode(text) {
  let bits = 0;
  let acc = 0;
  const out = [];
  for (const ch of text) {
    const v = B32.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 255);
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  }
  return new Uint8Array(out);
}

function groups(text, size) {
  const parts = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts.join("-");
}

/**
 * The 16-byte secret of a typed slip code (10.1): upper-cased, '-', spaces and tabs removed,
 * exactly 26 base32 characters whose re-encoding is identical (the 2 unused bits zero).
 */
export function parseCredentialCode(code) {
  if (typeof code !== "string") fail("code", "a credential code is a string");
  let text = "";
  for (const ch of code.toUpperCase()) if (ch !== "-" && ch !== " " && ch !== "\t") text += ch;
  if (text.length !== 26) fail("code", "a credential code has 26 letters and digits");
  const secret = base32Decode(text);
  if (!secret) fail("code", "a credential code uses only the letters A-Z and digits 2-7");
  if (secret.length !== 16 || base32(secret) !== text)
    fail("code", "a credential code is not canonical");
  return secret;
}

/** The display form of a secret's code: groups of 4 joined by '-' (the last of 2). */
export function credentialCode(secret) {
  return groups(base32(secret), 4);
}

const CREDENTIAL_SECRETS = new WeakMap();

/**
 * A slip's credential: Ed25519 key from HKDF-SHA256(secret, salt none, info, 32 bytes) (10.2).
 * Only the public key is a property; the secret and seed stay in a WeakMap.
 */
export class Credential {
  /** @param {Uint8Array} secret 16 bytes */
  constructor(secret) {
    if (!(secret instanceof Uint8Array) || secret.length !== 16)
      fail("code", "a credential secret is 16 bytes");
    const seed = hkdf(sha256, secret, undefined, HKDF_INFO, 32);
    CREDENTIAL_SECRETS.set(this, { secret: Uint8Array.from(secret), seed });
    /** @type {Uint8Array} */
    this.publicKey = ed25519.getPublicKey(seed);
    this.publicKeyHex = toHex(this.publicKey);
    Object.freeze(this);
  }

  static fromCode(code) {
    return new Credential(parseCredentialCode(code));
  }

  /** The slip's code (display form). */
  get code() {
    return credentialCode(CREDENTIAL_SECRETS.get(this).secret);
  }

  /** RFC 8032 Ed25519 signature (deterministic) with the derived key. */
  sign(message) {
    return ed25519.sign(message, CREDENTIAL_SECRETS.get(this).seed);
  }

  toJSON() {
    return { public_key: this.publicKeyHex };
  }
}

/** The credential's public key (hex) from a typed code; TallyError code 'code' if invalid. */
export function credentialPublicKey(code) {
  return Credential.fromCode(code).publicKeyHex;
}

/** The HKDF seed of a secret (exposed for the test vectors only). */
export function _credentialSeed(secret) {
  return hkdf(sha256, secret, undefined, HKDF_INFO, 32);
}

/**
 * Ed25519 verification as OpenSSL does it (10.3): S < L, the key decoded as OpenSSL decodes it,
 * and the cofactorless equation checked by comparing the encoding of S·B − k·A with R.
 */
export function verifySignature(publicKey, signature, message) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const R = signature.subarray(0, 32);
  const S = bytesToBigLE(signature.subarray(32));
  if (S >= L) return false;
  let A;
  try {
    // OpenSSL reads y modulo p and takes the sign bit as given: noble's zip215 decoding.
    A = Pt.fromBytes(publicKey, true);
  } catch {
    return false;
  }
  const k = bytesToBigLE(sha512(concatBytes(R, publicKey, message))) % L;
  const check = mulG(S).subtract(mul(A, k));
  return equalBytes(check.toBytes(), R);
}

/** Credential commitment (10.4): hex SHA256(tag ‖ sorted raw keys). */
export function credentialCommitment(publicKeys) {
  const keys = publicKeys.map((k) => (typeof k === "string" ? fromHex(k, 32, "credential") : k));
  keys.sort((x, y) => {
    for (let i = 0; i < 32; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return 0;
  });
  return sha256Hex(concatBytes(COMMITMENT_TAG, ...keys));
}

// --- trustee public keys (9.1) -------------------------------------------------------------------

/** A published trustee key, checked: format, non-blank name, non-identity point, Schnorr proof. */
export function parseTrusteePublic(data) {
  if (!isPlainObject(data) || data.format !== PUBLIC_FORMAT)
    fail("trustee", `not a trustee public key file (${PUBLIC_FORMAT})`);
  const name = data.name;
  if (typeof name !== "string" || !name.trim()) fail("trustee", "a trustee needs a name");
  let key;
  let proof;
  try {
    key = pointFromHex(data.public_key);
    proof = csProofFromJson(data.proof);
  } catch (e) {
    fail("trustee", `trustee ${name}: ${e.message}`);
  }
  if (key.is0()) fail("trustee", `trustee ${name}: the public key must not be the identity`);
  if (!verifySchnorr(key, proof, TAG_KEY, new Uint8Array(0)))
    fail("trustee", `trustee ${name}: the proof of knowledge of the key does not verify`);
  return Object.freeze({ name, publicKey: key, publicKeyHex: data.public_key, proof, json: data });
}

/** Y = Σ Y_i; refused: no trustee, two equal keys, a sum equal to the identity (9.1). */
export function jointPublicKey(trustees) {
  if (!trustees.length) fail("trustee", "a poll needs at least one trustee");
  const hexes = new Set(trustees.map((t) => t.publicKeyHex));
  if (hexes.size !== trustees.length) fail("trustee", "two trustees have the same public key");
  let total = IDENTITY;
  for (const t of trustees) total = total.add(t.publicKey);
  if (total.is0()) fail("trustee", "the joint key is the identity");
  return total;
}

// --- the manifest and the poll context (11.) -----------------------------------------------------

/** fingerprint = SHA256(canonical_json(manifest.election)) (11.2), as bytes. */
export function pollFingerprint(election) {
  return sha256(canonicalJson(election));
}

/**
 * @typedef {object} PollContext
 * @property {Uint8Array} fingerprint
 * @property {string} fingerprintHex
 * @property {Point} publicKey the joint key Y (with a precomputed table)
 * @property {number} subjects
 * @property {number} grades
 * @property {boolean} allowBlank
 * @property {ReadonlyArray<object>} trustees parsed trustee keys (empty for makeContext)
 */

/** A poll context from its parts (as tally.ballots.PollContext); mainly for tests. */
export function makeContext({
  fingerprint,
  publicKey,
  subjects,
  grades,
  allowBlank,
  trustees = [],
}) {
  const fp =
    typeof fingerprint === "string" ? fromHex(fingerprint, 32, "fingerprint") : fingerprint;
  const Y = typeof publicKey === "string" ? precomputedPoint(publicKey) : publicKey;
  return Object.freeze({
    fingerprint: fp,
    fingerprintHex: toHex(fp),
    publicKey: Y,
    subjects,
    grades,
    allowBlank,
    trustees,
  });
}

/**
 * The poll context of a manifest (11.3's "poll context"): fingerprint, joint key, counts, blank
 * rule. Checks what the encryptor relies on: format and group, subjects and grades, allow_blank
 * equal to the rule set's, every trustee key and proof, the joint key equal to their sum. (The
 * rule set and the credential list are checked by the server and the verifier.) A few
 * milliseconds (one Schnorr proof per trustee): callers with many ballots pass the context.
 * @returns {PollContext}
 */
export function pollContext(manifest) {
  try {
    if (!isPlainObject(manifest) || manifest.format !== MANIFEST_FORMAT)
      fail("manifest", `not a manifest (${MANIFEST_FORMAT})`);
    const e = manifest.election;
    if (!isPlainObject(e)) fail("manifest", "the manifest has no election");
    if (e.group !== GROUP) fail("manifest", `unknown group (expected ${GROUP})`);
    if (!Array.isArray(e.subjects) || e.subjects.length === 0)
      fail("manifest", "a poll needs at least one subject");
    if (
      !Array.isArray(e.grades) ||
      e.grades.length === 0 ||
      !e.grades.every((g) => typeof g === "string")
    )
      fail("manifest", "the grades must be a non-empty list of codes");
    if (typeof e.allow_blank !== "boolean") fail("manifest", "allow_blank must be true or false");
    if (isPlainObject(e.rules) && e.rules.allow_blank !== e.allow_blank)
      fail("manifest", "allow_blank differs from the rule set");
    const ruleGrades =
      isPlainObject(e.rules) && Array.isArray(e.rules.grades) ? e.rules.grades : [];
    if (ruleGrades.map((g) => g && g.code).join("\n") !== e.grades.join("\n"))
      fail("manifest", "the grades differ from the rule set's grades");
    if (!Array.isArray(e.trustees)) fail("manifest", "the trustees must be a list");
    const trustees = e.trustees.map(parseTrusteePublic);
    const joint = jointPublicKey(trustees);
    if (e.public_key !== pointHex(joint))
      fail("manifest", "the poll's public key is not the sum of the trustees' keys");
    return makeContext({
      fingerprint: pollFingerprint(e),
      publicKey: e.public_key,
      subjects: e.subjects.length,
      grades: e.grades.length,
      allowBlank: e.allow_blank,
      trustees: Object.freeze(trustees),
    });
  } catch (err) {
    if (err instanceof TallyError && err.code === "manifest") throw err;
    throw new TallyError("manifest", `invalid manifest: ${err.message}`);
  }
}

function asContext(manifestOrContext) {
  if (isPlainObject(manifestOrContext) && manifestOrContext.format === MANIFEST_FORMAT)
    return pollContext(manifestOrContext);
  if (manifestOrContext && manifestOrContext.fingerprint instanceof Uint8Array)
    return manifestOrContext;
  return pollContext(manifestOrContext); // raises the manifest error
}

// --- ballots (12.) -------------------------------------------------------------------------------

function ballotContext(ctx, credential, subject, grade) {
  const parts = [ctx.fingerprint, credential, u32(subject)];
  if (grade !== undefined && grade !== null) parts.push(u32(grade));
  return concatBytes(...parts);
}

/** What the credential signs (12.3): the prefix and the canonical ballot without "signature". */
export function signedBytes(ballot) {
  const body = {};
  for (const k of Object.keys(ballot)) if (k !== "signature") body[k] = ballot[k];
  return concatBytes(SIGNATURE_PREFIX, canonicalJson(body));
}

const RANDOM_SOURCE = Object.freeze({
  r: () => randomScalar(),
  choiceNonces: () => ({ w: randomScalar(), c_sim: randomScalar(), s_sim: randomScalar() }),
  sumNonces: () => ({ w: randomScalar(), c_sim: randomScalar(), s_sim: randomScalar() }),
});

function checkChoices(ctx, choices) {
  if (!Array.isArray(choices) || choices.length !== ctx.subjects)
    fail("choices", `the ballot must rate ${ctx.subjects} subjects`);
  choices.forEach((choice, i) => {
    if (choice === null || choice === undefined) {
      if (!ctx.allowBlank)
        fail(
          "choices-incomplete",
          `subject ${i + 1} must be rated (this rule set allows no blank)`,
        );
    } else if (!Number.isInteger(choice) || choice < 0 || choice >= ctx.grades) {
      fail("choices", `subject ${i + 1}: grade index out of range`);
    }
  });
}

/**
 * Encrypt, prove and sign with randomness and nonces from `source` (12.2, 12.3). The booth uses
 * encryptBallot (random source); tests pass a source that replays the Python vectors.
 * @param {PollContext} ctx
 * @param {Credential} credential
 * @param {Array<number|null>} choices grade index per subject, null for blank
 * @param {{r(i:number,j:number):bigint, choiceNonces(i:number,j:number):object, sumNonces(i:number):object}} source
 * @param {(p:{done:number,total:number})=>void} [onProgress]
 * @returns {{ballot: object, randomness: bigint[][]}}
 */
export function _encryptBallotWith(ctx, credential, choices, source, onProgress) {
  checkChoices(ctx, choices);
  const cred = credential.publicKey;
  const Y = ctx.publicKey;
  const answers = [];
  const randomness = [];
  if (onProgress) onProgress({ done: 0, total: ctx.subjects });
  for (let i = 0; i < ctx.subjects; i++) {
    const choice = choices[i] === undefined ? null : choices[i];
    const rs = [];
    for (let j = 0; j < ctx.grades; j++) rs.push(source.r(i, j));
    const items = [];
    let total = ZERO_CIPHERTEXT;
    for (let j = 0; j < ctx.grades; j++) {
      const m = choice === j ? 1 : 0;
      const ct = encrypt(Y, m, rs[j]);
      const { proof } = proveZeroOne(
        Y,
        ct,
        m,
        rs[j],
        TAG_CHOICE,
        ballotContext(ctx, cred, i, j),
        source.choiceNonces(i, j),
      );
      items.push({ ...ciphertextToJson(ct), proof: zeroOneProofToJson(proof) });
      total = addCiphertexts(total, ct);
    }
    const rSum = modL(rs.reduce((x, y) => x + y, 0n));
    const sumContext = ballotContext(ctx, cred, i, null);
    let sumProof;
    if (ctx.allowBlank) {
      const mSum = choice === null ? 0 : 1;
      sumProof = zeroOneProofToJson(
        proveZeroOne(Y, total, mSum, rSum, TAG_SUM_ZERO_ONE, sumContext, source.sumNonces(i)).proof,
      );
    } else {
      // (A, B − G) = (R·G, R·Y): DLEQ with H = Y, X = A, Z = B − G, x = R.
      const { w } = source.sumNonces(i);
      sumProof = csProofToJson(
        proveDleq(rSum, Y, TAG_SUM_ONE, sumContext, w, [total.a, total.b.subtract(G)]).proof,
      );
    }
    answers.push({ choices: items, sum_proof: sumProof });
    randomness.push(rs);
    if (onProgress) onProgress({ done: i + 1, total: ctx.subjects });
  }
  const ballot = {
    format: BALLOT_FORMAT,
    poll: ctx.fingerprintHex,
    credential: toHex(cred),
    answers,
  };
  ballot.signature = toHex(credential.sign(signedBytes(ballot)));
  return { ballot, randomness };
}

/**
 * The booth's encryption: for the manifest's poll, the slip `code` and the grade index chosen per
 * subject (null for a blank, only where election.allow_blank), a signed tally-ballot/1 object and
 * the randomness [[hex per grade] per subject] that a Benaloh challenge reveals (12.6).
 * @param {object} manifest parsed manifest.json
 * @param {string} code the slip's typed code
 * @param {Array<number|null>} choices
 * @param {{onProgress?: (p:{done:number,total:number})=>void}} [options]
 */
export function encryptBallot(manifest, code, choices, { onProgress } = {}) {
  return encryptWithCredential(pollContext(manifest), Credential.fromCode(code), choices, {
    onProgress,
  });
}

/** encryptBallot for an already checked poll context and credential (as the booth's worker does). */
export function encryptWithCredential(ctx, credential, choices, { onProgress } = {}) {
  const { ballot, randomness } = _encryptBallotWith(
    ctx,
    credential,
    choices,
    RANDOM_SOURCE,
    onProgress,
  );
  return { ballot, randomness: randomness.map((rs) => rs.map(scalarHex)) };
}

/** tracking_hash = SHA256(canonical_json(ballot)), signature included (12.5). */
export function trackingHash(ballot) {
  return sha256(canonicalJson(ballot));
}

/** base32 of the first 10 bytes of the tracking hash, as XXXX-XXXX-XXXX-XXXX (12.5). */
export function trackingCode(hash) {
  const bytes = typeof hash === "string" ? fromHex(hash, 32, "tracking hash") : hash;
  return groups(base32(bytes.subarray(0, 10)), 4);
}

function hexField(value, size, what) {
  if (typeof value !== "string" || value.length !== 2 * size || !/^[0-9a-f]*$/.test(value))
    fail("ballot", `the ${what} must be ${2 * size} lowercase hex characters`);
  return fromHex(value, size, what);
}

function exactKeys(obj, names) {
  const keys = Object.keys(obj);
  return (
    keys.length === names.length && names.every((n) => Object.prototype.hasOwnProperty.call(obj, n))
  );
}

/**
 * verify_ballot (12.4), in its order; throws TallyError (code 'ballot') naming the first failure.
 * Returns {credential (hex), ciphertexts [[{a, b}]] (points), trackingHash (bytes)}.
 * @param {object|PollContext} manifestOrContext
 */
export function verifyBallot(manifestOrContext, ballot) {
  const ctx = asContext(manifestOrContext);
  try {
    return verifyInner(ctx, ballot);
  } catch (err) {
    if (err instanceof TallyError && err.code === "ballot") throw err;
    throw new TallyError("ballot", err.message);
  }
}

function verifyInner(ctx, ballot) {
  if (!isPlainObject(ballot)) fail("ballot", "a ballot must be a JSON object");
  const expected = ["answers", "credential", "format", "poll", "signature"];
  if (!exactKeys(ballot, expected))
    fail("ballot", "a ballot must have exactly the fields " + expected.join(", "));
  if (ballot.format !== BALLOT_FORMAT)
    fail("ballot", `unknown ballot format (expected ${BALLOT_FORMAT})`);
  if (ballot.poll !== ctx.fingerprintHex)
    fail("ballot", "the ballot is for another poll (fingerprint differs)");
  const cred = hexField(ballot.credential, 32, "credential");
  const signature = hexField(ballot.signature, 64, "signature");
  // The signature is cheap next to the proofs: checked first, as tally does.
  if (!verifySignature(cred, signature, signedBytes(ballot)))
    fail("ballot", "the credential's signature does not verify");
  const answers = ballot.answers;
  if (!Array.isArray(answers) || answers.length !== ctx.subjects)
    fail("ballot", `the ballot must rate exactly ${ctx.subjects} subjects`);
  const Y = ctx.publicKey;
  const parsed = [];
  answers.forEach((answer, i) => {
    const where = `subject ${i + 1}`;
    if (!isPlainObject(answer) || !exactKeys(answer, ["choices", "sum_proof"]))
      fail("ballot", `${where}: an answer has exactly the fields choices, sum_proof`);
    const choices = answer.choices;
    if (!Array.isArray(choices) || choices.length !== ctx.grades)
      fail("ballot", `${where}: expected ${ctx.grades} encrypted grades`);
    const cts = [];
    let total = ZERO_CIPHERTEXT;
    choices.forEach((item, j) => {
      if (!isPlainObject(item) || !exactKeys(item, ["a", "b", "proof"]))
        fail("ballot", `${where}, grade ${j + 1}: fields must be a, b, proof`);
      const ct = { a: pointFromHex(item.a), b: pointFromHex(item.b) };
      const proof = zeroOneProofFromJson(item.proof);
      if (!verifyZeroOne(Y, ct, proof, TAG_CHOICE, ballotContext(ctx, cred, i, j)))
        fail("ballot", `${where}, grade ${j + 1}: the 0/1 proof does not verify`);
      cts.push(ct);
      total = addCiphertexts(total, ct);
    });
    const sumContext = ballotContext(ctx, cred, i, null);
    const ok = ctx.allowBlank
      ? verifyZeroOne(
          Y,
          total,
          zeroOneProofFromJson(answer.sum_proof),
          TAG_SUM_ZERO_ONE,
          sumContext,
        )
      : verifyDleq(
          Y,
          total.a,
          total.b.subtract(G),
          csProofFromJson(answer.sum_proof),
          TAG_SUM_ONE,
          sumContext,
        );
    if (!ok) fail("ballot", `${where}: the proof that exactly one grade is chosen does not verify`);
    parsed.push(cts);
  });
  return { credential: ballot.credential, ciphertexts: parsed, trackingHash: trackingHash(ballot) };
}

/**
 * Benaloh check (12.6): do the revealed choices and randomness ([[hex]] or [[bigint]]) give
 * exactly this ballot's ciphertexts? False on any mismatch or malformed input.
 */
export function checkChallenge(manifestOrContext, ballot, choices, randomness) {
  const ctx = asContext(manifestOrContext);
  const answers = isPlainObject(ballot) ? ballot.answers : undefined;
  if (!Array.isArray(answers) || !Array.isArray(choices) || !Array.isArray(randomness))
    return false;
  if (answers.length !== choices.length || choices.length !== randomness.length) return false;
  for (let i = 0; i < answers.length; i++) {
    const choice = choices[i] === undefined ? null : choices[i];
    // An out-of-range grade would "match" an all-zero (blank) encryption and mislead the voter.
    if (choice === null && !ctx.allowBlank) return false;
    if (choice !== null && !(Number.isInteger(choice) && choice >= 0 && choice < ctx.grades))
      return false;
    const items = isPlainObject(answers[i]) ? answers[i].choices : undefined;
    const rs = randomness[i];
    if (!Array.isArray(items) || !Array.isArray(rs) || items.length !== rs.length) return false;
    for (let j = 0; j < items.length; j++) {
      let r;
      try {
        r = typeof rs[j] === "bigint" ? rs[j] : scalarFromHex(rs[j]);
      } catch {
        return false;
      }
      const expected = ciphertextToJson(encrypt(ctx.publicKey, choice === j ? 1 : 0, r));
      const item = items[j];
      if (!isPlainObject(item) || item.a !== expected.a || item.b !== expected.b) return false;
    }
  }
  return true;
}

// --- the bulletin board (13.) --------------------------------------------------------------------

function bytes32(value, what) {
  return typeof value === "string" ? fromHex(value, 32, what) : value;
}

/** head_0 = SHA256("tally/v1/board\0" ‖ fingerprint). */
export function boardGenesis(fingerprint) {
  return sha256(concatBytes(BOARD_TAG, bytes32(fingerprint, "fingerprint")));
}

/** head_n = SHA256(head_{n−1} ‖ tracking_hash_n). */
export function boardNext(previous, tracking) {
  return sha256(concatBytes(bytes32(previous, "head"), bytes32(tracking, "tracking hash")));
}

/** The board head (hex) after these tracking hashes (bytes or hex), head_0 if none (13.). */
export function boardHead(fingerprint, trackingHashes) {
  let head = boardGenesis(fingerprint);
  for (const t of trackingHashes) head = boardNext(head, t);
  return toHex(head);
}

/**
 * Read ballots.jsonl (13.; checks 3 and 6 of 18.): every line the canonical-JSON object
 * {ballot, chain, index, tracking_hash}, index = n, tracking_hash the ballot's, chain = head_n.
 * Returns {ballots, head (hex)}. The ballots themselves are checked by aggregateFromBallots.
 */
export function readBoard(manifestOrContext, text) {
  const ctx = asContext(manifestOrContext);
  let head = boardGenesis(ctx.fingerprint);
  const ballots = [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((line, k) => {
    const n = k + 1;
    let entry;
    try {
      entry = parseJson(line);
    } catch (e) {
      fail("board", `board line ${n}: ${e.message}`);
    }
    if (!isPlainObject(entry) || !exactKeys(entry, ["ballot", "chain", "index", "tracking_hash"]))
      fail("board", `board line ${n}: expected exactly index, ballot, tracking_hash, chain`);
    if (entry.index !== n) fail("board", `board line ${n}: index ${entry.index}`);
    const tracking = trackingHash(entry.ballot);
    if (entry.tracking_hash !== toHex(tracking))
      fail("board", `board line ${n}: wrong tracking hash`);
    head = boardNext(head, tracking);
    if (entry.chain !== toHex(head)) fail("board", `board line ${n}: the chain is broken`);
    ballots.push(entry.ballot);
  });
  return { ballots, head: toHex(head) };
}

// --- the aggregate (14.1) ------------------------------------------------------------------------

/**
 * The aggregate recomputed from the board's ballots, in board order (14.1): the sum per subject
 * and grade, board_head = head_N, ballot_count = N. With `verify` (default) every ballot must pass
 * 12.4 and its credential be in manifest.credentials, none twice (checks 4-5 of 18.).
 * @param {object} manifest
 * @param {object[]} ballots
 * @param {{verify?: boolean, onProgress?: (p:{done:number,total:number})=>void}} [options]
 */
export function aggregateFromBallots(manifest, ballots, { verify = true, onProgress } = {}) {
  const ctx = pollContext(manifest);
  const listed = new Set(Array.isArray(manifest.credentials) ? manifest.credentials : []);
  const seen = new Set();
  const sums = Array.from({ length: ctx.subjects }, () => Array(ctx.grades).fill(ZERO_CIPHERTEXT));
  let head = boardGenesis(ctx.fingerprint);
  ballots.forEach((ballot, n) => {
    let cts;
    if (verify) {
      let v;
      try {
        v = verifyBallot(ctx, ballot);
      } catch (e) {
        fail("board", `ballot ${n + 1}: ${e.message}`);
      }
      if (!listed.has(v.credential))
        fail("board", `ballot ${n + 1}: the credential is not in the manifest`);
      if (seen.has(v.credential)) fail("board", `ballot ${n + 1}: the credential has voted twice`);
      seen.add(v.credential);
      cts = v.ciphertexts;
    } else {
      cts = ballot.answers.map((answer) => answer.choices.map(ciphertextFromJson));
    }
    for (let i = 0; i < ctx.subjects; i++)
      for (let j = 0; j < ctx.grades; j++) sums[i][j] = addCiphertexts(sums[i][j], cts[i][j]);
    head = boardNext(head, trackingHash(ballot));
    if (onProgress) onProgress({ done: n + 1, total: ballots.length });
  });
  return makeAggregate(ctx.fingerprint, toHex(head), ballots.length, sums);
}

/** The tally-aggregate/1 object (key order as tally.trustees.make_aggregate). */
export function makeAggregate(fingerprint, boardHeadHex, ballotCount, sums) {
  return {
    format: AGGREGATE_FORMAT,
    poll: toHex(bytes32(fingerprint, "fingerprint")),
    board_head: boardHeadHex,
    ballot_count: ballotCount,
    ciphertexts: sums.map((row) => row.map(ciphertextToJson)),
  };
}

/** As tally.trustees.parse_aggregate: format, 32-byte poll, every ciphertext point checked. */
export function parseAggregate(aggregate) {
  if (!isPlainObject(aggregate) || aggregate.format !== AGGREGATE_FORMAT)
    fail("aggregate", `not an aggregate file (${AGGREGATE_FORMAT})`);
  try {
    const fingerprint = fromHex(aggregate.poll, 32, "poll");
    if (!Array.isArray(aggregate.ciphertexts) || !aggregate.ciphertexts.every(Array.isArray))
      fail("aggregate", "ciphertexts must be a list of lists");
    const cts = aggregate.ciphertexts.map((row) => row.map(ciphertextFromJson));
    return { fingerprint, cts };
  } catch (e) {
    throw new TallyError("aggregate", `the aggregate file is damaged: ${e.message}`);
  }
}

// --- trustees: the encrypted key file (9.2) and partial decryption (14.2) ------------------------

const TRUSTEE_SECRETS = new WeakMap();

/** A trustee's private key; the scalar is held in a WeakMap, never a property. */
export class TrusteeKey {
  constructor(x, publicParsed) {
    TRUSTEE_SECRETS.set(this, x);
    this.name = publicParsed.name;
    this.publicKeyHex = publicParsed.publicKeyHex;
    this.publicKey = publicParsed.publicKey;
    this.public = publicParsed.json;
    Object.freeze(this);
  }

  toJSON() {
    return { name: this.name, public_key: this.publicKeyHex };
  }
}

/** A TrusteeKey from a known secret scalar (test vectors only; checks x·G). */
export function _trusteeKeyFromSecret(x, publicJson) {
  const pub = parseTrusteePublic(publicJson);
  if (!mulG(x).equals(pub.publicKey))
    fail("trustee-key", "the private and public keys do not match");
  return new TrusteeKey(x, pub);
}

function looseHex(value, what) {
  // tally reads these with bytes.fromhex, which also takes uppercase.
  if (typeof value !== "string" || value.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(value))
    fail("trustee-key", `the key file is damaged (${what})`);
  return fromHex(value.toLowerCase(), undefined, what);
}

/**
 * Open a tally-trustee-key/1 file (9.2): scrypt(passphrase, salt, n, r, p) within the bounds
 * 2^14 <= n <= 2^20, 1 <= r <= 16, p = 1, AES-256-GCM with associated data canonical_json(public),
 * then x·G must equal the public key. Wrong passphrase or any change: TallyError 'trustee-key'.
 * @param {object|string} keyFile the parsed file (or its text)
 * @param {string} passphrase
 * @param {{onProgress?: (fraction:number)=>void}} [options]
 * @returns {Promise<TrusteeKey>}
 */
export async function openTrusteeKey(keyFile, passphrase, { onProgress } = {}) {
  const data = typeof keyFile === "string" ? parseJson(keyFile) : keyFile;
  if (!isPlainObject(data) || data.format !== KEY_FORMAT)
    fail("trustee-key", `not a trustee key file (${KEY_FORMAT})`);
  const pub = parseTrusteePublic(data.public);
  const kdf = data.kdf;
  const cipher = data.cipher;
  if (!isPlainObject(kdf) || !isPlainObject(cipher)) fail("trustee-key", "the key file is damaged");
  const { n, r, p } = kdf;
  // Bounded so a crafted key file cannot exhaust memory or time.
  if (
    kdf.name !== "scrypt" ||
    cipher.name !== "aes-256-gcm" ||
    ![n, r, p].every(Number.isInteger) ||
    !(n >= 2 ** 14 && n <= 2 ** 20 && r >= 1 && r <= 16 && p === 1)
  )
    fail("trustee-key", "unsupported key file encryption");
  const salt = looseHex(kdf.salt, "salt");
  const nonce = looseHex(cipher.nonce, "nonce");
  const sealed = looseHex(cipher.ciphertext, "ciphertext");
  if (typeof passphrase !== "string") fail("trustee-key", "a passphrase is text");
  const key = await scryptAsync(utf8(passphrase), salt, {
    N: n,
    r,
    p,
    dkLen: 32,
    maxmem: 128 * r * (n + p + 1) + 1024, // the bounds above already cap it (2 GiB at most)
    onProgress,
  });
  let plain;
  try {
    plain = gcm(key, nonce, canonicalJson(data.public)).decrypt(sealed);
  } catch {
    fail("trustee-key", "wrong passphrase, or the key file was altered");
  } finally {
    key.fill(0);
  }
  let x;
  try {
    x = decodeScalar(plain);
  } catch {
    fail("trustee-key", "the key file is damaged");
  } finally {
    plain.fill(0);
  }
  if (!mulG(x).equals(pub.publicKey))
    fail("trustee-key", "the key file's private and public keys do not match");
  return new TrusteeKey(x, pub);
}

function shareContext(fingerprint, subject, grade) {
  return concatBytes(fingerprint, u32(subject), u32(grade));
}

/**
 * The trustee's tally-share/1 for an aggregate (14.2): for every (i, j), D = x·A with a DLEQ proof
 * (H = A, X = Y_t, Z = D, tag partial-decryption, context fingerprint ‖ u32(i) ‖ u32(j)), and
 * aggregate_sha256 = SHA256(canonical_json(aggregate)). With a manifest (recommended) it also
 * refuses an aggregate of another poll or shape and a key that is not one of the poll's trustees.
 * The caller must first check the aggregate against the board and the announced head (14.2).
 * @param {TrusteeKey} trusteeKey
 * @param {object} aggregate
 * @param {object} [manifest]
 * @param {{onProgress?: (p:{done:number,total:number})=>void, _nonce?: (i:number,j:number)=>bigint}} [options]
 */
export function decryptShare(trusteeKey, aggregate, manifest, { onProgress, _nonce } = {}) {
  const x = TRUSTEE_SECRETS.get(trusteeKey);
  if (x === undefined) fail("trustee-key", "not an opened trustee key");
  const { fingerprint, cts } = parseAggregate(aggregate);
  if (manifest !== undefined && manifest !== null) {
    const ctx = pollContext(manifest);
    if (!equalBytes(fingerprint, ctx.fingerprint))
      fail("aggregate", "the aggregate is for another poll");
    if (cts.length !== ctx.subjects || cts.some((row) => row.length !== ctx.grades))
      fail("aggregate", "the aggregate does not have one ciphertext per subject and grade");
    const mine = ctx.trustees.find((t) => t.publicKeyHex === trusteeKey.publicKeyHex);
    if (!mine || mine.name !== trusteeKey.name)
      fail("trustee-key", "this key is not one of the poll's trustees");
  }
  const Y = trusteeKey.publicKey;
  const total = cts.reduce((s, row) => s + row.length, 0);
  let done = 0;
  const rows = cts.map((row, i) =>
    row.map((ct, j) => {
      const D = mul(ct.a, x);
      const w = _nonce ? _nonce(i, j) : randomScalar();
      const { proof } = proveDleq(x, ct.a, TAG_DECRYPT, shareContext(fingerprint, i, j), w, [Y, D]);
      done++;
      if (onProgress) onProgress({ done, total });
      return { d: pointHex(D), proof: csProofToJson(proof) };
    }),
  );
  return {
    format: SHARE_FORMAT,
    poll: toHex(fingerprint),
    trustee: trusteeKey.name,
    public_key: trusteeKey.publicKeyHex,
    aggregate_sha256: sha256Hex(canonicalJson(aggregate)),
    shares: rows,
  };
}

/**
 * verify_share (14.2): the share's format, poll, trustee name and key, aggregate hash, shape,
 * every d a valid point and every proof verifying. Returns the partial decryptions [[Point]].
 * @param {object} aggregate @param {object} trusteePublic published JSON (9.1) @param {object} share
 */
export function verifyShare(aggregate, trusteePublic, share) {
  const { fingerprint, cts } = parseAggregate(aggregate);
  const trustee = trusteePublic.publicKey ? trusteePublic : parseTrusteePublic(trusteePublic);
  const who = `trustee ${trustee.name}`;
  if (!isPlainObject(share) || share.format !== SHARE_FORMAT)
    fail("share", `${who}: not a decryption share (${SHARE_FORMAT})`);
  if (share.poll !== toHex(fingerprint)) fail("share", `${who}: the share is for another poll`);
  if (share.trustee !== trustee.name) fail("share", `${who}: the share names another trustee`);
  if (share.public_key !== trustee.publicKeyHex)
    fail("share", `${who}: the share was made with another key`);
  if (share.aggregate_sha256 !== sha256Hex(canonicalJson(aggregate)))
    fail("share", `${who}: the share is for a different aggregate`);
  const rows = share.shares;
  if (
    !Array.isArray(rows) ||
    rows.length !== cts.length ||
    rows.some((row, i) => !Array.isArray(row) || row.length !== cts[i].length)
  )
    fail("share", `${who}: the share does not have one value per aggregate ciphertext`);
  return rows.map((row, i) =>
    row.map((item, j) => {
      let D;
      let proof;
      try {
        if (!isPlainObject(item)) fail("share", "an item must be an object");
        D = pointFromHex(item.d);
        proof = csProofFromJson(item.proof);
      } catch (e) {
        fail("share", `${who}: subject ${i + 1}, grade ${j + 1}: ${e.message}`);
      }
      if (
        !verifyDleq(
          cts[i][j].a,
          trustee.publicKey,
          D,
          proof,
          TAG_DECRYPT,
          shareContext(fingerprint, i, j),
        )
      )
        fail(
          "share",
          `${who}: subject ${i + 1}, grade ${j + 1}: the decryption proof does not verify`,
        );
      return D;
    }),
  );
}

/**
 * Combination (14.3): M = B − Σ D_t per (i, j), the count m with M = m·G for 0 <= m <= maxCount.
 * @returns {number[][]}
 */
export function combineShares(aggregate, partials, maxCount) {
  const { cts } = parseAggregate(aggregate);
  const table = new Map();
  let P = IDENTITY;
  for (let m = 0; m <= maxCount; m++) {
    table.set(pointHex(P), m);
    P = P.add(G);
  }
  return cts.map((row, i) =>
    row.map((ct, j) => {
      let M = ct.b;
      for (const partial of partials) M = M.subtract(partial[i][j]);
      const m = table.get(pointHex(M));
      if (m === undefined)
        fail(
          "share",
          `subject ${i + 1}, grade ${j + 1}: the decrypted count is not between 0 and ${maxCount}`,
        );
      return m;
    }),
  );
}
