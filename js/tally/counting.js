// The count (docs/protocol.md 14.1), as tally.counting.board_aggregate: the aggregate recomputed
// from the board's ballots, every ballot verified, which the trustee page compares with the one the
// server published before decrypting.

import { ZERO_CIPHERTEXT, addCiphertexts, ciphertextFromJson } from "./elgamal.js";
import { fail, toHex } from "./group.js";
import { pollContext } from "./manifest.js";
import { trackingHash, verifyBallot } from "./ballots.js";
import { boardGenesis, boardNext } from "./board.js";
import { makeAggregate } from "./trustees.js";

/**
 * The aggregate recomputed from the board's ballots, in board order (14.1): the sum per subject
 * and grade, board_head = head_N, ballot_count = N. With `verify` (default) every ballot must pass
 * 12.4 and its credential be listed in the manifest (version 1: manifest.credentials; version 2:
 * the authority's signed credential_list.keys), none twice (checks 4-5 of 18.).
 * @param {object} manifest
 * @param {object[]} ballots
 * `paper`: the paper ballots the counting committee entered (13.3), already checked by readPaper
 * (js/tally/paper.js): added to the one sum and to ballot_count, never to the head.
 * @param {{verify?: boolean, paper?: object[], onProgress?: (p:{done:number,total:number})=>void}} [options]
 */
export function aggregateFromBallots(manifest, ballots, { verify = true, paper = [], onProgress } = {}) {
  const ctx = pollContext(manifest);
  const listed = new Set(ctx.credentials);
  const seen = new Set();
  const sums = Array.from({ length: ctx.subjects }, () => Array(ctx.grades).fill(ZERO_CIPHERTEXT));
  let head = boardGenesis(ctx.fingerprint);
  ballots.forEach((ballot, n) => {
    let cts;
    let tracking;
    if (verify) {
      let v;
      try {
        v = verifyBallot(ctx, ballot);
      } catch (e) {
        fail("board", `ballot ${n + 1}: ${e.message}`);
      }
      if (!listed.has(v.credential))
        fail("board", `ballot ${n + 1}: the credential is not in the manifest`);
      if (seen.has(v.credential)) fail("board", `ballot ${n + 1}: the credential has voted twice`);
      seen.add(v.credential);
      cts = v.ciphertexts;
      tracking = v.trackingHash;
    } else {
      cts = ballot.answers.map((answer) => answer.choices.map(ciphertextFromJson));
    }
    for (let i = 0; i < ctx.subjects; i++)
      for (let j = 0; j < ctx.grades; j++) sums[i][j] = addCiphertexts(sums[i][j], cts[i][j]);
    head = boardNext(head, verify ? tracking : trackingHash(ballot));
    if (onProgress) onProgress({ done: n + 1, total: ballots.length });
  });
  for (const p of paper)
    for (let i = 0; i < ctx.subjects; i++)
      for (let j = 0; j < ctx.grades; j++) sums[i][j] = addCiphertexts(sums[i][j], p.ciphertexts[i][j]);
  return makeAggregate(ctx.fingerprint, toHex(head), ballots.length + paper.length, sums);
}
