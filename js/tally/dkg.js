// The key ceremony (k of n) and counting with any k trustees, the public side (docs/protocol.md
// 9.4, 14.5), as tally/dkg.py: the ceremony digest H0, the checks of a dealing and of a check,
// the outcome of the transcript (the complaints decided, the qualified trustees, the poll's key
// and the verification keys), the check of a tally-share/2 and the Lagrange combination. What a
// trustee makes with their key (dealing, check, share) is in dkg-trustee.js; this file needs no
// secret, so the booth's manifest check (manifest.js) can use it.

import { sha256 } from "@noble/hashes/sha2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { gcm } from "@noble/ciphers/aes.js";
import { canonicalJson, isPlainObject, sha256Hex } from "./canonical.js";
import { verifySignature } from "./credentials.js";
import {
  IDENTITY,
  L,
  concatBytes,
  decodeScalar,
  fail,
  fromHex,
  mul,
  mulG,
  pointFromHex,
  pointHex,
  toHex,
  u32,
  utf8,
} from "./group.js";
import { countTable } from "./elgamal.js";
import { csProofFromJson, verifyDleq, verifySchnorr } from "./proofs.js";

export const CEREMONY_FORMAT = "tally-ceremony/1";
export const DEAL_FORMAT = "tally-dkg-deal/1";
export const CHECK_FORMAT = "tally-dkg-check/1";
export const SHARE_FORMAT_V2 = "tally-share/2";
export const TAG_CONSTANT = "tally/v2/dkg-constant";
export const TAG_COMPLAINT = "tally/v2/dkg-complaint";
export const TAG_EPHEMERAL = "tally/v2/dkg-ephemeral";
export const TAG_THRESHOLD = "tally/v2/threshold-decryption";
export const DEAL_SIGNATURE = "tally/v2/dkg-deal\0";
export const CHECK_SIGNATURE = "tally/v2/dkg-check\0";
export const SHARE_INFO = "tally/v2/dkg-share\0";
export const MAX_TRUSTEES = 32;
const UID = /^[0-9a-f]{32}$/;
const DEAL_FIELDS = ["format", "ceremony", "dealer", "commitments", "proof", "shares", "signature"];
const CHECK_FIELDS = ["format", "ceremony", "trustee", "dealings", "complaints", "signature"];
const SHARE_FIELDS = [
  "format",
  "poll",
  "trustee",
  "name",
  "verification_key",
  "aggregate_sha256",
  "shares",
];

const err = (message) => fail("ceremony", message);
const sameFields = (obj, fields) =>
  isPlainObject(obj) &&
  Object.keys(obj).length === fields.length &&
  fields.every((f) => Object.hasOwn(obj, f));

/** The default threshold: a majority of n. */
export function defaultThreshold(n) {
  return Math.floor(n / 2) + 1;
}

/**
 * A ceremony: uid, threshold k and the trustees (parsed tally-trustee-public/2 objects as
 * parseTrusteePublic returns them, in order). Checks as tally.dkg.Ceremony.
 */
export function makeCeremony(uid, threshold, trustees) {
  const n = trustees.length;
  if (typeof uid !== "string" || !UID.test(uid))
    err("ceremony: the uid must be 32 lowercase hexadecimal digits");
  if (n < 1 || n > MAX_TRUSTEES) err(`ceremony: between 1 and ${MAX_TRUSTEES} trustees`);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > n)
    err(`ceremony: the threshold k must be between 1 and n = ${n}`);
  if (trustees.some((t) => typeof t.signingKeyHex !== "string"))
    err("ceremony: every trustee needs a signing key (version 2)");
  const distinct = (f) => new Set(trustees.map(f)).size === n;
  if (!distinct((t) => t.name) || !distinct((t) => t.publicKeyHex) || !distinct((t) => t.signingKeyHex))
    err("ceremony: two trustees have the same name or the same key");
  const digest = sha256(
    canonicalJson({
      format: CEREMONY_FORMAT,
      uid,
      threshold,
      trustees: trustees.map((t) => t.json),
    }),
  );
  return Object.freeze({ uid, threshold, trustees: Object.freeze([...trustees]), n, digest });
}

/** The trustee's index in the ceremony (from 1), by ElGamal and signing key. */
export function indexOf(ceremony, publicKeyHex, signingKeyHex) {
  const m = ceremony.trustees.findIndex(
    (t) => t.publicKeyHex === publicKeyHex && t.signingKeyHex === signingKeyHex,
  );
  if (m < 0) err("this key is not a trustee of this ceremony");
  return m + 1;
}

/** SHA-256 (hex) of the canonical list of the n dealings, what each check names. */
export function dealingsDigest(dealings) {
  return sha256Hex(canonicalJson(dealings));
}

/** The AES-256-GCM key and iv of the share dealer → to (9.4). */
export function shareKey(Z, h0, dealer, to, E) {
  const okm = hkdf(
    sha256,
    Z.toBytes(),
    undefined,
    concatBytes(utf8(SHARE_INFO), h0, u32(dealer), u32(to), E.toBytes()),
    44,
  );
  return { key: okm.subarray(0, 32), iv: okm.subarray(32, 44) };
}

/** The share if it opens with Z and is a canonical scalar, else null. */
export function openShare(Z, h0, dealer, to, E, ct) {
  const { key, iv } = shareKey(Z, h0, dealer, to, E);
  try {
    return decodeScalar(gcm(key, iv).decrypt(ct));
  } catch {
    return null;
  }
}

/** Σ_t m^t·C_t (Horner). */
export function evaluateCommitments(commitments, m) {
  let total = IDENTITY;
  for (let t = commitments.length - 1; t >= 0; t--) total = mul(total, BigInt(m)).add(commitments[t]);
  return total;
}

function index(value, n, what) {
  if (!Number.isInteger(value) || value < 1 || value > n)
    err(`${what}: expected a trustee index between 1 and ${n}`);
  return value;
}

function signed(data, prefix, signer, what) {
  const { signature, ...body } = data;
  let sig;
  try {
    sig = fromHex(signature, 64, "signature");
  } catch (e) {
    err(`${what}: ${e.message}`);
  }
  const message = concatBytes(utf8(prefix), canonicalJson(body));
  if (!verifySignature(fromHex(signer.signingKeyHex, 32), sig, message))
    err(`${what}: the signature of ${signer.name} does not verify`);
}

/** parse_dealing: the form, the proof of the constant term and the dealer's signature. */
export function parseDealing(ceremony, data) {
  if (!isPlainObject(data) || data.format !== DEAL_FORMAT) err(`dealing: not a ${DEAL_FORMAT} message`);
  if (!sameFields(data, DEAL_FIELDS))
    err(`dealing: expected exactly the fields ${DEAL_FIELDS.join(", ")}`);
  const { n, threshold: k } = ceremony;
  const i = index(data.dealer, n, "dealing");
  const what = `dealing of trustee ${i} (${ceremony.trustees[i - 1].name})`;
  if (data.ceremony !== toHex(ceremony.digest)) err(`${what}: made for another ceremony`);
  if (!Array.isArray(data.commitments) || data.commitments.length !== k)
    err(`${what}: expected k = ${k} commitments`);
  if (!Array.isArray(data.shares) || data.shares.length !== n)
    err(`${what}: expected one share for each of the n = ${n} trustees`);
  let commitments;
  let proof;
  let shares;
  try {
    commitments = data.commitments.map((c) => pointFromHex(c));
    proof = csProofFromJson(data.proof);
    shares = data.shares.map((share, index) => {
      const j = index + 1;
      if (!sameFields(share, ["e", "ct", "proof"]))
        err(`${what}: a share has exactly the fields e, ct and proof`);
      const E = pointFromHex(share.e);
      if (E.is0()) err(`${what}: a share's ephemeral key is the identity`);
      const known = csProofFromJson(share.proof);
      const context = concatBytes(ceremony.digest, u32(i), u32(j));
      if (!verifySchnorr(E, known, TAG_EPHEMERAL, context))
        err(`${what}: the proof of the ephemeral key of the share for trustee ${j} does not verify`);
      return { E, ct: fromHex(share.ct, 48, "share ciphertext") };
    });
  } catch (e) {
    if (e.code === "ceremony") throw e;
    err(`${what}: ${e.message}`);
  }
  if (commitments[0].is0()) err(`${what}: the constant commitment is the identity`);
  if (!verifySchnorr(commitments[0], proof, TAG_CONSTANT, concatBytes(ceremony.digest, u32(i))))
    err(`${what}: the proof of knowledge of the constant term does not verify`);
  signed(data, DEAL_SIGNATURE, ceremony.trustees[i - 1], what);
  return { dealer: i, commitments, shares };
}

export function parseDealings(ceremony, dealings) {
  if (!Array.isArray(dealings) || dealings.length !== ceremony.n)
    err(`ceremony: expected the n = ${ceremony.n} dealings, one per trustee`);
  const parsed = dealings.map((d) => parseDealing(ceremony, d));
  if (parsed.some((d, k) => d.dealer !== k + 1))
    err("ceremony: the dealings must be in trustee order, one each");
  return parsed;
}

/** parse_check: form, signature, the dealings it names and each complaint's proof. */
export function parseCheck(ceremony, data, dealings, digest) {
  if (!isPlainObject(data) || data.format !== CHECK_FORMAT) err(`check: not a ${CHECK_FORMAT} message`);
  if (!sameFields(data, CHECK_FIELDS))
    err(`check: expected exactly the fields ${CHECK_FIELDS.join(", ")}`);
  const j = index(data.trustee, ceremony.n, "check");
  const recipient = ceremony.trustees[j - 1];
  const what = `check of trustee ${j} (${recipient.name})`;
  if (data.ceremony !== toHex(ceremony.digest)) err(`${what}: made for another ceremony`);
  if (data.dealings !== digest) err(`${what}: names other dealings than those of the transcript`);
  if (!Array.isArray(data.complaints)) err(`${what}: complaints must be a list`);
  const complaints = [];
  for (const item of data.complaints) {
    if (!sameFields(item, ["dealer", "z", "proof"]))
      err(`${what}: a complaint has exactly the fields dealer, z and proof`);
    const i = index(item.dealer, ceremony.n, what);
    if (i === j || complaints.some((c) => c.dealer === i))
      err(`${what}: a complaint against itself or a second one against ${i}`);
    if (complaints.length && i < complaints[complaints.length - 1].dealer)
      err(`${what}: complaints must be in dealer order`);
    let Z;
    let proof;
    try {
      Z = pointFromHex(item.z);
      proof = csProofFromJson(item.proof);
    } catch (e) {
      err(`${what}: ${e.message}`);
    }
    const { E } = dealings[i - 1].shares[j - 1];
    const context = concatBytes(ceremony.digest, u32(i), u32(j));
    if (!verifyDleq(E, recipient.publicKey, Z, proof, TAG_COMPLAINT, context))
      err(`${what}: the proof of the complaint against ${i} does not verify`);
    complaints.push({ dealer: i, Z });
  }
  signed(data, CHECK_SIGNATURE, recipient, what);
  return { trustee: j, complaints };
}

/**
 * The outcome of a transcript (evaluate): {qualified, faults, publicKey, verificationKeys}, or a
 * TallyError 'ceremony' naming the message or, with fewer than k qualified, the faulty.
 */
export function evaluateCeremony(ceremony, dealings, checks) {
  const parsed = parseDealings(ceremony, dealings);
  const digest = dealingsDigest(dealings);
  if (!Array.isArray(checks) || checks.length !== ceremony.n)
    err(`ceremony: expected the n = ${ceremony.n} checks, one per trustee`);
  const faults = new Map();
  const name = (m) => ceremony.trustees[m - 1].name;
  checks.forEach((data, position) => {
    const { trustee: j, complaints } = parseCheck(ceremony, data, parsed, digest);
    if (j !== position + 1) err("ceremony: the checks must be in trustee order, one each");
    for (const complaint of complaints) {
      const dealing = parsed[complaint.dealer - 1];
      const { E, ct } = dealing.shares[j - 1];
      const value = openShare(complaint.Z, ceremony.digest, complaint.dealer, j, E, ct);
      const good = value !== null && mulG(value).equals(evaluateCommitments(dealing.commitments, j));
      const [who, reason, against] = good
        ? [j, "false_complaint", dealing.dealer]
        : [dealing.dealer, "bad_share", j];
      if (!faults.has(who)) faults.set(who, { trustee: who, name: name(who), reason, against });
    }
  });
  const qualified = [];
  for (let m = 1; m <= ceremony.n; m++) if (!faults.has(m)) qualified.push(m);
  const ordered = [...faults.keys()].sort((a, b) => a - b).map((m) => faults.get(m));
  if (qualified.length < ceremony.threshold) {
    const names = ordered.map((f) => `${f.name} (${f.reason})`).join("; ");
    err(
      `ceremony: only ${qualified.length} trustees qualify, fewer than k = ${ceremony.threshold}; faulty: ${names}`,
    );
  }
  let publicKey = IDENTITY;
  for (const i of qualified) publicKey = publicKey.add(parsed[i - 1].commitments[0]);
  if (publicKey.is0()) err("ceremony: the joint key is the identity");
  const verificationKeys = new Map();
  for (const m of qualified) {
    let vk = IDENTITY;
    for (const i of qualified) vk = vk.add(evaluateCommitments(parsed[i - 1].commitments, m));
    verificationKeys.set(m, vk);
  }
  return { qualified, faults: ordered, publicKey, verificationKeys, parsed };
}

// --- counting with any k (14.5) ----------------------------------------------------------------

export function thresholdContext(fingerprint, m, subject, grade) {
  return concatBytes(fingerprint, u32(m), u32(subject), u32(grade));
}

/**
 * Check a tally-share/2 against the aggregate ({fingerprint, cts} parsed) and the outcome;
 * returns {trustee, partials}.
 */
export function verifyThresholdShare(parsedAggregate, aggregateSha256, ceremony, outcome, share) {
  const { fingerprint, cts } = parsedAggregate;
  if (!isPlainObject(share) || share.format !== SHARE_FORMAT_V2)
    fail("share", `not a decryption share (${SHARE_FORMAT_V2})`);
  if (!sameFields(share, SHARE_FIELDS))
    fail("share", `a share has exactly the fields ${SHARE_FIELDS.join(", ")}`);
  const m = share.trustee;
  if (!Number.isInteger(m) || m < 1 || m > ceremony.n)
    fail("share", "the share names no trustee of the ceremony");
  const who = `trustee ${m} (${ceremony.trustees[m - 1].name})`;
  if (!outcome.qualified.includes(m)) fail("share", `${who} did not qualify in the key ceremony`);
  if (share.name !== ceremony.trustees[m - 1].name)
    fail("share", `${who}: the share names another trustee`);
  const vk = outcome.verificationKeys.get(m);
  if (share.verification_key !== pointHex(vk))
    fail("share", `${who}: the share was made with another verification key`);
  if (share.poll !== toHex(fingerprint)) fail("share", `${who}: the share is for another poll`);
  if (share.aggregate_sha256 !== aggregateSha256)
    fail("share", `${who}: the share is for a different aggregate`);
  const rows = share.shares;
  if (
    !Array.isArray(rows) ||
    rows.length !== cts.length ||
    rows.some((row, i) => !Array.isArray(row) || row.length !== cts[i].length)
  )
    fail("share", `${who}: the share does not have one value per aggregate ciphertext`);
  const partials = rows.map((row, i) =>
    row.map((item, j) => {
      let D;
      let proof;
      try {
        if (!sameFields(item, ["d", "proof"])) fail("share", "expected exactly the fields d and proof");
        D = pointFromHex(item.d);
        proof = csProofFromJson(item.proof);
      } catch (e) {
        fail("share", `${who}: subject ${i + 1}, grade ${j + 1}: ${e.message}`);
      }
      if (!verifyDleq(cts[i][j].a, vk, D, proof, TAG_THRESHOLD, thresholdContext(fingerprint, m, i, j)))
        fail("share", `${who}: subject ${i + 1}, grade ${j + 1}: the decryption proof does not verify`);
      return D;
    }),
  );
  return { trustee: m, partials };
}

/** λ_m = Π_{l≠m} l / (l − m) mod L for each index. */
export function lagrangeAtZero(indexes) {
  const inv = (a) => {
    // Fermat: a^(L−2) mod L
    let result = 1n;
    let base = ((a % L) + L) % L;
    let e = L - 2n;
    while (e > 0n) {
      if (e & 1n) result = (result * base) % L;
      base = (base * base) % L;
      e >>= 1n;
    }
    return result;
  };
  const out = new Map();
  for (const m of indexes) {
    let num = 1n;
    let den = 1n;
    for (const other of indexes)
      if (other !== m) {
        num = (num * BigInt(other)) % L;
        den = (((den * BigInt(other - m)) % L) + L) % L;
      }
    out.set(m, (num * inv(den)) % L);
  }
  return out;
}

/**
 * The counts from the partial decryptions (Map trustee -> [[Point]]) of at least k trustees, the
 * k lowest indexes combined; returns {counts, used}.
 */
export function combineThreshold(cts, partials, threshold, maxCount) {
  if (partials.size < threshold)
    fail("share", `only ${partials.size} trustees' shares, fewer than the k = ${threshold} needed`);
  const used = [...partials.keys()].sort((a, b) => a - b).slice(0, threshold);
  const weights = lagrangeAtZero(used);
  const table = countTable(maxCount);
  const counts = cts.map((row, i) =>
    row.map((ct, j) => {
      let M = ct.b;
      for (const m of used) M = M.subtract(mul(partials.get(m)[i][j], weights.get(m)));
      const c = table.get(pointHex(M));
      if (c === undefined)
        fail("share", `subject ${i + 1}, grade ${j + 1}: the decrypted count is not between 0 and ${maxCount}`);
      return c;
    }),
  );
  return { counts, used };
}
