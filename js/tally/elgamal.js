// Exponential ElGamal (docs/protocol.md 6.), as tally/elgamal.py: encryption under the joint key,
// the homomorphic sum, and ciphertexts to and from JSON.

import { isPlainObject } from "./canonical.js";
import { G, IDENTITY, encodeAll, fail, mul, mulG, pointFromHex, pointHex, toHex } from "./group.js";

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

/** hex(m·G) -> m for 0 <= m <= maxCount (the identity for 0): where a decrypted count is read. */
export function countTable(maxCount) {
  const table = new Map();
  let P = IDENTITY;
  for (let m = 0; m <= maxCount; m++) {
    table.set(pointHex(P), m);
    P = P.add(G);
  }
  return table;
}
