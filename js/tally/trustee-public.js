// A trustee's published key (docs/protocol.md 9.1), as tally.trustees.TrusteePublic and
// joint_public_key: the key with its Schnorr proof, and the poll's joint key. Kept apart from
// trustees.js because the manifest needs these and trustees.js needs the manifest: no cycle.

import { isPlainObject } from "./canonical.js";
import { IDENTITY, fail, pointFromHex } from "./group.js";
import { csProofFromJson, verifySchnorr } from "./proofs.js";

export const TAG_KEY = "tally/v1/trustee-key";
export const PUBLIC_FORMAT = "tally-trustee-public/1";

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
