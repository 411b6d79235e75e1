// The three proofs (docs/protocol.md 7.), as tally/proofs.py: Schnorr (knowledge of a key), DLEQ
// (a partial decryption, a ballot's sum without blanks) and the disjunctive 0/1 proof, with their
// JSON forms. Every proof's context binds it to the poll (and credential, subject, grade).

import { isPlainObject } from "./canonical.js";
import {
  G,
  L,
  encodeAll,
  fail,
  hashToScalar,
  modL,
  mul,
  mulG,
  randomScalar,
  scalarFromHex,
  scalarHex,
} from "./group.js";

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
