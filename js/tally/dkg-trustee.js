// The key ceremony and counting with any k, a trustee's side (docs/protocol.md 9.4, 14.5), as
// tally/dkg.py: the dealing and the check made with the trustee's key (every secret derived from
// it, so the page keeps nothing between steps), the share of the poll's secret recomputed from
// the transcript, and the partial decryption tally-share/2. The secrets stay in WeakMaps.

import { gcm } from "@noble/ciphers/aes.js";
import { canonicalJson, sha256Hex } from "./canonical.js";
import {
  L,
  concatBytes,
  encodeScalar,
  fail,
  mul,
  mulG,
  pointHex,
  randomScalar,
  toHex,
  u32,
  utf8,
} from "./group.js";
import { csProofToJson, proveDleq, proveSchnorr } from "./proofs.js";
import {
  CHECK_FORMAT,
  CHECK_SIGNATURE,
  DEAL_FORMAT,
  DEAL_SIGNATURE,
  SHARE_FORMAT_V2,
  TAG_COMPLAINT,
  TAG_CONSTANT,
  TAG_EPHEMERAL,
  TAG_THRESHOLD,
  dealingsDigest,
  evaluateCeremony,
  evaluateCommitments,
  indexOf,
  openShare,
  parseDealings,
  shareKey,
  thresholdContext,
} from "./dkg.js";
import { parseAggregate, trusteeDerive, trusteeDh, trusteeProveDh, trusteeSign } from "./trustees.js";

const label = (h0, text) => concatBytes(h0, utf8(text));

function signedMessage(trusteeKey, prefix, message) {
  const signature = trusteeSign(trusteeKey, concatBytes(utf8(prefix), canonicalJson(message)));
  return { ...message, signature: toHex(signature) };
}

/** Trustee i's signed tally-dkg-deal/1 (make_dealing). */
export function makeDealing(ceremony, trusteeKey) {
  const h0 = ceremony.digest;
  const i = indexOf(ceremony, trusteeKey.publicKeyHex, trusteeKey.signingKeyHex);
  const coefficients = [];
  for (let t = 0; t < ceremony.threshold; t++)
    coefficients.push(trusteeDerive(trusteeKey, label(h0, `a/${t}`)));
  const { proof } = proveSchnorr(
    coefficients[0],
    TAG_CONSTANT,
    concatBytes(h0, u32(i)),
    trusteeDerive(trusteeKey, label(h0, "a/w")),
  );
  const shares = ceremony.trustees.map((recipient, index) => {
    const j = index + 1;
    let value = 0n;
    for (let t = coefficients.length - 1; t >= 0; t--) value = (value * BigInt(j) + coefficients[t]) % L;
    const r = trusteeDerive(trusteeKey, label(h0, `r/${j}`));
    const E = mulG(r);
    const { key, iv } = shareKey(mul(recipient.publicKey, r), h0, i, j, E);
    // The dealer proves it knows r, so a complaint's Z = x_j·E tells it nothing new (9.4).
    const { proof: known } = proveSchnorr(
      r,
      TAG_EPHEMERAL,
      concatBytes(h0, u32(i), u32(j)),
      trusteeDerive(trusteeKey, label(h0, `r/${j}/w`)),
    );
    return {
      e: pointHex(E),
      ct: toHex(gcm(key, iv).encrypt(encodeScalar(value))),
      proof: csProofToJson(known),
    };
  });
  return signedMessage(trusteeKey, DEAL_SIGNATURE, {
    format: DEAL_FORMAT,
    ceremony: toHex(h0),
    dealer: i,
    commitments: coefficients.map((a) => pointHex(mulG(a))),
    proof: csProofToJson(proof),
    shares,
  });
}

/** Trustee j's signed tally-dkg-check/1 of the n dealings (make_check). */
export function makeCheck(ceremony, trusteeKey, dealings) {
  const h0 = ceremony.digest;
  const j = indexOf(ceremony, trusteeKey.publicKeyHex, trusteeKey.signingKeyHex);
  const complaints = [];
  for (const dealing of parseDealings(ceremony, dealings)) {
    const { E, ct } = dealing.shares[j - 1];
    const Z = trusteeDh(trusteeKey, E);
    const value = openShare(Z, h0, dealing.dealer, j, E, ct);
    if (value === null || !mulG(value).equals(evaluateCommitments(dealing.commitments, j))) {
      const context = concatBytes(h0, u32(dealing.dealer), u32(j));
      // The nonce is derived from the whole statement (E and Z), never from the dealer alone.
      const nonceLabel = concatBytes(h0, utf8("c/"), u32(dealing.dealer), E.toBytes(), Z.toBytes());
      const w = trusteeDerive(trusteeKey, nonceLabel);
      const proof = trusteeProveDh(trusteeKey, E, TAG_COMPLAINT, context, w);
      complaints.push({ dealer: dealing.dealer, z: pointHex(Z), proof: csProofToJson(proof) });
    }
  }
  return signedMessage(trusteeKey, CHECK_SIGNATURE, {
    format: CHECK_FORMAT,
    ceremony: toHex(h0),
    trustee: j,
    dealings: dealingsDigest(dealings),
    complaints,
  });
}

const THRESHOLD_SECRETS = new WeakMap();

/** A qualified trustee's share s_m of the poll's secret, recomputed from the transcript. */
export function thresholdKey(ceremony, dealings, checks, trusteeKey) {
  const outcome = evaluateCeremony(ceremony, dealings, checks);
  const m = indexOf(ceremony, trusteeKey.publicKeyHex, trusteeKey.signingKeyHex);
  const name = ceremony.trustees[m - 1].name;
  if (!outcome.qualified.includes(m)) fail("ceremony", `${name} did not qualify in the ceremony`);
  let s = 0n;
  for (const i of outcome.qualified) {
    const { E, ct } = outcome.parsed[i - 1].shares[m - 1];
    const value = openShare(trusteeDh(trusteeKey, E), ceremony.digest, i, m, E, ct);
    if (value === null) fail("ceremony", `the share of trustee ${i} does not open with this key`);
    s = (s + value) % L;
  }
  const verificationKey = outcome.verificationKeys.get(m);
  if (!mulG(s).equals(verificationKey))
    fail("ceremony", "the shares do not add up to this trustee's verification key");
  const key = Object.freeze({ index: m, name, verificationKey, verificationKeyHex: pointHex(verificationKey) });
  THRESHOLD_SECRETS.set(key, s);
  return key;
}

/** Trustee m's tally-share/2 of an aggregate (decrypt_share of tally.dkg). */
export function decryptThresholdShare(key, aggregate, { onProgress, _nonce } = {}) {
  const s = THRESHOLD_SECRETS.get(key);
  if (s === undefined) fail("trustee-key", "not a threshold key");
  const { fingerprint, cts } = parseAggregate(aggregate);
  const total = cts.reduce((n, row) => n + row.length, 0);
  let done = 0;
  const rows = cts.map((row, i) =>
    row.map((ct, j) => {
      const D = mul(ct.a, s);
      const w = _nonce ? _nonce(i, j) : randomScalar();
      const context = thresholdContext(fingerprint, key.index, i, j);
      const { proof } = proveDleq(s, ct.a, TAG_THRESHOLD, context, w, [key.verificationKey, D]);
      done++;
      if (onProgress) onProgress({ done, total });
      return { d: pointHex(D), proof: csProofToJson(proof) };
    }),
  );
  return {
    format: SHARE_FORMAT_V2,
    poll: toHex(fingerprint),
    trustee: key.index,
    name: key.name,
    verification_key: key.verificationKeyHex,
    aggregate_sha256: sha256Hex(canonicalJson(aggregate)),
    shares: rows,
  };
}
