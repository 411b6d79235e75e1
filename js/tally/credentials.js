// Credentials (docs/protocol.md 10.), as tally/credentials.py: the slip's code, the Ed25519 key
// derived from it, signatures verified as OpenSSL verifies them, and the commitment to the set.

import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256Hex } from "./canonical.js";
import {
  L,
  bytesToBigLE,
  concatBytes,
  equalBytes,
  fail,
  fromHex,
  mul,
  mulG,
  toHex,
  utf8,
} from "./group.js";

const Pt = ed25519.Point;
const COMMITMENT_TAG = utf8("tally/v1/credential-set\0");
const HKDF_INFO = utf8("tally/v1/credential-signing-key");

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

export function groups(text, size) {
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
