// The manifest and the poll context (docs/protocol.md 11.), as tally/manifest.py (and the
// PollContext of tally/ballots.py): the poll's fingerprint, and what the encryptor and the
// verifiers rely on, checked. Both formats are read: tally-manifest/2 (protocol version 2: the
// poll uid, and the credential authority's signed list, tally-credential-list/1, as in
// tally/authority.py) and tally-manifest/1 (version 1: a bare list of keys).

import { sha256 } from "@noble/hashes/sha2.js";
import { canonicalJson, isPlainObject } from "./canonical.js";
import { verifySignature } from "./credentials.js";
import { evaluateCeremony, makeCeremony } from "./dkg.js";
import {
  TallyError,
  concatBytes,
  fail,
  fromHex,
  pointHex,
  precomputedPoint,
  toHex,
  utf8,
} from "./group.js";
import {
  PUBLIC_FORMAT,
  PUBLIC_FORMAT_V2,
  isValidEd25519Key,
  jointPublicKey,
  parseTrusteePublic,
} from "./trustee-public.js";

/** @typedef {import("./group.js").Point} Point */

export const MANIFEST_FORMAT_V1 = "tally-manifest/1";
export const MANIFEST_FORMAT = "tally-manifest/2";
/** format -> protocol version of the manifest */
export const MANIFEST_FORMATS = Object.freeze({ [MANIFEST_FORMAT_V1]: 1, [MANIFEST_FORMAT]: 2 });
export const GROUP = "ed25519-prime-order-subgroup";
export const CREDENTIAL_LIST_FORMAT = "tally-credential-list/1";
const CREDENTIAL_LIST_TAG = "tally/v2/credential-list\0";

const HEX32 = /^[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{128}$/;
const UID = /^[0-9a-f]{32}$/;

/** fingerprint = SHA256(canonical_json(manifest.election)) (11.2), as bytes. */
export function pollFingerprint(election) {
  return sha256(canonicalJson(election));
}

/** The protocol version of a manifest (1 or 2), or 0 if it is not a manifest. */
export function manifestVersion(manifest) {
  if (!isPlainObject(manifest) || typeof manifest.format !== "string") return 0;
  return Object.prototype.hasOwnProperty.call(MANIFEST_FORMATS, manifest.format)
    ? MANIFEST_FORMATS[manifest.format]
    : 0;
}

/**
 * What the credential authority signs (tally.authority.signed_bytes): the tag
 * "tally/v2/credential-list\0" and the canonical JSON of the list without its signature.
 */
export function credentialListSignedBytes(list) {
  if (!isPlainObject(list)) fail("manifest", "a credential list is a JSON object");
  const unsigned = {};
  for (const [k, v] of Object.entries(list)) if (k !== "signature") unsigned[k] = v;
  return concatBytes(utf8(CREDENTIAL_LIST_TAG), canonicalJson(unsigned));
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
 * @property {number|null} version the manifest's protocol version (null for makeContext)
 * @property {string|null} pollUid the poll's uid (version 2)
 * @property {ReadonlyArray<string>|null} credentials the listed credential keys, hex (null for
 *   makeContext): version 1's manifest.credentials, version 2's credential_list.keys
 */

/** A poll context from its parts (as tally.ballots.PollContext); mainly for tests. */
export function makeContext({
  fingerprint,
  publicKey,
  subjects,
  grades,
  allowBlank,
  trustees = [],
  ceremony = null,
  ceremonyOutcome = null,
  version = null,
  pollUid = null,
  credentials = null,
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
    ceremony,
    ceremonyOutcome,
    version,
    pollUid,
    credentials,
  });
}

function keyList(keys, where) {
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string" && HEX32.test(k)))
    fail("manifest", `${where} must be a list of 32-byte public keys in lowercase hex`);
  return Object.freeze([...keys]);
}

/** Version 1: the manifest's bare list of keys. */
function credentialsV1(manifest) {
  return keyList(manifest.credentials, "credentials");
}

/**
 * Version 2: the authority's list, its signature verified with election.credentials.authority
 * (the key the fingerprint covers) and bound to this poll's uid. The rest of the list's checks
 * (sizes, order, each key a valid point, the commitment) are the server's and the verifier's.
 */
function credentialsV2(manifest, e) {
  const committed = e.credentials;
  if (!isPlainObject(committed)) fail("manifest", "election.credentials must be an object");
  const authority = committed.authority;
  if (!isValidEd25519Key(authority))
    fail("manifest", "election.credentials.authority must be a valid Ed25519 key in lowercase hex");
  const list = manifest.credential_list;
  if (!isPlainObject(list) || list.format !== CREDENTIAL_LIST_FORMAT)
    fail("manifest", `credential_list: not a credential list (${CREDENTIAL_LIST_FORMAT})`);
  if (list.authority !== authority)
    fail("manifest", "credential_list: not signed by the authority the election names");
  if (typeof list.signature !== "string" || !HEX64.test(list.signature))
    fail("manifest", "credential_list: signature must be 64 bytes in lowercase hex");
  const signed = credentialListSignedBytes(list);
  if (!verifySignature(fromHex(authority, 32), fromHex(list.signature, 64), signed))
    fail("manifest", "credential_list: the authority's signature does not verify");
  if (list.poll_uid !== e.poll_uid)
    fail("manifest", "credential_list: the list is for another poll (poll_uid differs)");
  return keyList(list.keys, "credential_list.keys");
}

/**
 * The poll context of a manifest (11.3's "poll context"): fingerprint, joint key, counts, blank
 * rule, and the listed credential keys. Checks what the encryptor relies on: format and group
 * (version 2: the poll uid), subjects and grades, allow_blank equal to the rule set's, every
 * trustee key and proof (in the version's trustee format), the joint key equal to their sum, and
 * the credential list (version 2: the authority's signature, for this poll's uid). (The rest of
 * the rule set and of the credential list is checked by the server and the verifier.) A few
 * milliseconds (one Schnorr proof per trustee, one Ed25519 verification): callers with many
 * ballots pass the context.
 * @returns {PollContext}
 */
export function pollContext(manifest) {
  try {
    const version = manifestVersion(manifest);
    if (!version) fail("manifest", `not a manifest (${MANIFEST_FORMAT} or ${MANIFEST_FORMAT_V1})`);
    const e = manifest.election;
    if (!isPlainObject(e)) fail("manifest", "the manifest has no election");
    if (e.group !== GROUP) fail("manifest", `unknown group (expected ${GROUP})`);
    if (version === 2 && (typeof e.poll_uid !== "string" || !UID.test(e.poll_uid)))
      fail("manifest", "election.poll_uid: expected 32 lowercase hexadecimal digits");
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
    const trusteeFormat = version === 2 ? PUBLIC_FORMAT_V2 : PUBLIC_FORMAT;
    const trustees = e.trustees.map((t, n) => {
      if (!isPlainObject(t) || t.format !== trusteeFormat)
        fail("manifest", `trustee ${n + 1}: expected format ${trusteeFormat}`);
      return parseTrusteePublic(t);
    });
    let ceremony = null;
    let ceremonyOutcome = null;
    if (version === 2 && Object.hasOwn(e, "ceremony")) {
      // A key ceremony (9.4): the poll's key is the qualified dealers', checked in full here,
      // so that a server cannot have the booth encrypt to a key of its own.
      const c = e.ceremony;
      if (!isPlainObject(c) || Object.keys(c).sort().join() !== "checks,dealings,threshold,uid")
        fail("manifest", "election.ceremony: expected exactly uid, threshold, dealings, checks");
      try {
        ceremony = makeCeremony(c.uid, c.threshold, trustees);
        ceremonyOutcome = evaluateCeremony(ceremony, c.dealings, c.checks);
      } catch (err) {
        fail("manifest", `election.ceremony: ${err.message}`);
      }
      if (e.public_key !== pointHex(ceremonyOutcome.publicKey))
        fail("manifest", "the poll's public key is not the key ceremony's");
    } else {
      const joint = jointPublicKey(trustees);
      if (e.public_key !== pointHex(joint))
        fail("manifest", "the poll's public key is not the sum of the trustees' keys");
    }
    const credentials = version === 2 ? credentialsV2(manifest, e) : credentialsV1(manifest);
    return makeContext({
      fingerprint: pollFingerprint(e),
      publicKey: e.public_key,
      subjects: e.subjects.length,
      grades: e.grades.length,
      allowBlank: e.allow_blank,
      trustees: Object.freeze(trustees),
      ceremony,
      ceremonyOutcome,
      version,
      pollUid: version === 2 ? e.poll_uid : null,
      credentials,
    });
  } catch (err) {
    if (err instanceof TallyError && err.code === "manifest") throw err;
    throw new TallyError("manifest", `invalid manifest: ${err.message}`);
  }
}

export function asContext(manifestOrContext) {
  if (manifestVersion(manifestOrContext)) return pollContext(manifestOrContext);
  if (manifestOrContext && manifestOrContext.fingerprint instanceof Uint8Array)
    return manifestOrContext;
  return pollContext(manifestOrContext); // raises the manifest error
}
