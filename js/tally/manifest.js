// The manifest and the poll context (docs/protocol.md 11.), as tally/manifest.py (and the
// PollContext of tally/ballots.py): the poll's fingerprint, and what the encryptor and the
// verifiers rely on, checked.

import { sha256 } from "@noble/hashes/sha2.js";
import { canonicalJson, isPlainObject } from "./canonical.js";
import { TallyError, fail, fromHex, pointHex, precomputedPoint, toHex } from "./group.js";
import { jointPublicKey, parseTrusteePublic } from "./trustee-public.js";

/** @typedef {import("./group.js").Point} Point */

export const MANIFEST_FORMAT = "tally-manifest/1";
export const GROUP = "ed25519-prime-order-subgroup";

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

export function asContext(manifestOrContext) {
  if (isPlainObject(manifestOrContext) && manifestOrContext.format === MANIFEST_FORMAT)
    return pollContext(manifestOrContext);
  if (manifestOrContext && manifestOrContext.fingerprint instanceof Uint8Array)
    return manifestOrContext;
  return pollContext(manifestOrContext); // raises the manifest error
}
