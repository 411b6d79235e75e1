// A trustee's published key (docs/protocol.md 9.1), as tally.trustees.TrusteePublic and
// joint_public_key: the key with its Schnorr proof, and the poll's joint key. Kept apart from
// trustees.js because the manifest needs these and trustees.js needs the manifest: no cycle.
//
// Two formats: tally-trustee-public/1 (protocol version 1) and tally-trustee-public/2, the same
// fields and signing_key, the trustee's Ed25519 key for the attendance statement (version 2).

import { isPlainObject } from "./canonical.js";
import { IDENTITY, concatBytes, fail, fromHex, pointFromHex, utf8 } from "./group.js";
import { csProofFromJson, verifySchnorr } from "./proofs.js";

export const TAG_KEY = "tally/v1/trustee-key";
export const PUBLIC_FORMAT = "tally-trustee-public/1";
export const PUBLIC_FORMAT_V2 = "tally-trustee-public/2";

const HEX32 = /^[0-9a-f]{64}$/;

/**
 * Is this 32-byte Ed25519 key (hex) a canonical point of the prime-order subgroup other than the
 * identity? As libsodium's crypto_core_ed25519_is_valid_point, which tally asks of a credential,
 * the authority's key and a trustee's signing key: y < p, on the curve, L·P = identity, and not
 * of small order (in the prime-order subgroup only the identity is).
 */
export function isValidEd25519Key(hex) {
  if (typeof hex !== "string" || !HEX32.test(hex)) return false;
  try {
    return !pointFromHex(hex).is0();
  } catch {
    return false;
  }
}

/**
 * A published trustee key, checked (either format): non-blank name, non-identity point, Schnorr
 * proof and, in tally-trustee-public/2, a signing_key of 32 bytes in lowercase hex that is a valid
 * Ed25519 key. `signingKeyHex` is null for the version-1 form.
 */
export function parseTrusteePublic(data) {
  if (!isPlainObject(data) || (data.format !== PUBLIC_FORMAT && data.format !== PUBLIC_FORMAT_V2))
    fail("trustee", `not a trustee public key file (${PUBLIC_FORMAT} or ${PUBLIC_FORMAT_V2})`);
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
  let signingKeyHex = null;
  if (data.format === PUBLIC_FORMAT_V2) {
    signingKeyHex = data.signing_key;
    if (typeof signingKeyHex !== "string" || !HEX32.test(signingKeyHex))
      fail("trustee", `trustee ${name}: signing_key must be 32 bytes in lowercase hex`);
    if (!isValidEd25519Key(signingKeyHex))
      fail("trustee", `trustee ${name}: signing_key is not a valid Ed25519 key`);
  }
  if (!verifySchnorr(key, proof, TAG_KEY, proofContext(signingKeyHex, name)))
    fail("trustee", `trustee ${name}: the proof of knowledge of the key does not verify`);
  return Object.freeze({
    name,
    publicKey: key,
    publicKeyHex: data.public_key,
    proof,
    signingKeyHex,
    json: data,
  });
}

/**
 * The context of the key's Schnorr proof (9.1), as tally.trustees.proof_context: empty in
 * version 1; in version 2 the signing key's 32 bytes and the name in UTF-8, so that nobody
 * without the secret can pair the key with another signing key or another name.
 */
export function proofContext(signingKeyHex, name) {
  if (signingKeyHex === null) return new Uint8Array(0);
  return concatBytes(fromHex(signingKeyHex, 32, "signing_key"), utf8(name));
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
