// Trustees (docs/protocol.md 9.2, 14.), as tally/trustees.py: the encrypted key file, the
// aggregate document, the partial decryption with its proofs, their check and the combination,
// and the trustee's Ed25519 signing key (protocol version 2), derived from the secret.
// (A trustee's published key is in trustee-public.js.)

import { ed25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { gcm } from "@noble/ciphers/aes.js";
import { canonicalJson, isPlainObject, parseJson, sha256Hex } from "./canonical.js";
import { ciphertextFromJson, ciphertextToJson, countTable } from "./elgamal.js";
import {
  G,
  L,
  TallyError,
  bytes32,
  bytesToBigLE,
  concatBytes,
  decodeScalar,
  encodeScalar,
  equalBytes,
  fail,
  fromHex,
  mul,
  mulG,
  pointFromHex,
  pointHex,
  randomScalar,
  toHex,
  u32,
  utf8,
} from "./group.js";
import { pollContext } from "./manifest.js";
import { csProofFromJson, csProofToJson, proveDleq, verifyDleq } from "./proofs.js";
import { parseTrusteePublic } from "./trustee-public.js";

export const TAG_DECRYPT = "tally/v1/partial-decryption";
export const KEY_FORMAT = "tally-trustee-key/1";
export const AGGREGATE_FORMAT = "tally-aggregate/1";
export const SHARE_FORMAT = "tally-share/1";
export const SIGNING_INFO = "tally/v2/trustee-signing-key";

// --- the signing key (protocol version 2) --------------------------------------------------------

/**
 * The Ed25519 seed of a trustee's signing key, as tally.trustees._signing_key:
 * HKDF-SHA256(IKM = encode_scalar(x), salt none, info "tally/v2/trustee-signing-key", L = 32).
 * Exposed for the test vectors only: the seed is as secret as x.
 */
export function _trusteeSigningSeed(x) {
  return hkdf(sha256, encodeScalar(x), undefined, utf8(SIGNING_INFO), 32);
}

function signingKeyHexOf(x) {
  const seed = _trusteeSigningSeed(x);
  try {
    return toHex(ed25519.getPublicKey(seed));
  } finally {
    seed.fill(0);
  }
}

// --- what the key ceremony needs of the key (9.4), the secret staying in the WeakMap ---------------

export const DERIVE_INFO = "tally/v2/trustee-derive\0";

function secretOf(trusteeKey) {
  const x = TRUSTEE_SECRETS.get(trusteeKey);
  if (x === undefined) fail("trustee-key", "not an opened trustee key");
  return x;
}

/** derive(label) of 9.4: HKDF-SHA512(encode(x), salt none, info DERIVE_INFO ‖ label, 64) mod L. */
export function trusteeDerive(trusteeKey, label) {
  const okm = hkdf(sha512, encodeScalar(secretOf(trusteeKey)), undefined, concatBytes(utf8(DERIVE_INFO), label), 64);
  const k = bytesToBigLE(okm) % L;
  if (k === 0n) fail("trustee-key", "a derived scalar is zero");
  return k;
}

/** x·P: opens a ceremony share sent to this trustee. */
export function trusteeDh(trusteeKey, P) {
  return mul(P, secretOf(trusteeKey));
}

/** DLEQ proof that trusteeDh(P) was made with this key (a complaint), nonce w. */
export function trusteeProveDh(trusteeKey, P, tag, context, w) {
  const x = secretOf(trusteeKey);
  return proveDleq(x, P, tag, context, w, [trusteeKey.publicKey, mul(P, x)]).proof;
}

/** Ed25519 signature with the trustee's signing key. */
export function trusteeSign(trusteeKey, message) {
  const seed = _trusteeSigningSeed(secretOf(trusteeKey));
  try {
    return ed25519.sign(message, seed);
  } finally {
    seed.fill(0);
  }
}

// --- the encrypted key file (9.2) ----------------------------------------------------------------

const TRUSTEE_SECRETS = new WeakMap();

/**
 * A trustee's private key; the scalar is held in a WeakMap, never a property. `public` is the
 * key file's public part as written (tally-trustee-public/1 or /2); `signingKeyHex` is the
 * signing key derived from the secret, also for a version-1 file (as tally's loaded key).
 */
export class TrusteeKey {
  constructor(x, publicParsed) {
    const signingKeyHex = signingKeyHexOf(x);
    const stated = publicParsed.signingKeyHex;
    if (typeof stated === "string" && stated !== signingKeyHex)
      fail("trustee-key", "the key file's signing key does not match its secret");
    TRUSTEE_SECRETS.set(this, x);
    this.name = publicParsed.name;
    this.publicKeyHex = publicParsed.publicKeyHex;
    this.publicKey = publicParsed.publicKey;
    this.signingKeyHex = signingKeyHex;
    this.public = publicParsed.json;
    Object.freeze(this);
  }

  toJSON() {
    return { name: this.name, public_key: this.publicKeyHex, signing_key: this.signingKeyHex };
  }
}

/** A TrusteeKey from a known secret scalar (test vectors only; checks x·G and the signing key). */
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
 * Open a tally-trustee-key/1 file (9.2), its public part either tally-trustee-public/1 or /2:
 * scrypt(passphrase, salt, n, r, p) within the bounds 2^14 <= n <= 2^20, 1 <= r <= 16, p = 1,
 * AES-256-GCM with associated data canonical_json(public), then x·G must equal the public key
 * and (a /2 public part) the derived signing key its signing_key. Wrong passphrase or any
 * change: TallyError 'trustee-key'.
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

// --- the aggregate (14.1) ------------------------------------------------------------------------

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

// --- partial decryption (14.2) and combination (14.3) --------------------------------------------

function shareContext(fingerprint, subject, grade) {
  return concatBytes(fingerprint, u32(subject), u32(grade));
}

/**
 * The trustee's tally-share/1 for an aggregate (14.2): for every (i, j), D = x·A with a DLEQ proof
 * (H = A, X = Y_t, Z = D, tag partial-decryption, context fingerprint ‖ u32(i) ‖ u32(j)), and
 * aggregate_sha256 = SHA256(canonical_json(aggregate)). With a manifest (recommended) it also
 * refuses an aggregate of another poll or shape, a key that is not one of the poll's trustees
 * and (version 2) a manifest that names another signing key for this trustee.
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
    // Version 2: the manifest must name this trustee's own signing key (a server that put in one
    // of its own could sign the attendance statement in the trustee's name), as tally's CLI.
    if (ctx.version === 2 && mine.signingKeyHex !== trusteeKey.signingKeyHex)
      fail("trustee-key", "the manifest names another signing key for this trustee");
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
  const table = countTable(maxCount);
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
