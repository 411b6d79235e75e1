// The bulletin board (docs/protocol.md 13.), as tally/board.py: the hash chain of the accepted
// ballots, and ballots.jsonl read with every link checked.

import { sha256 } from "@noble/hashes/sha2.js";
import { isPlainObject, parseJson } from "./canonical.js";
import { bytes32, concatBytes, fail, toHex, utf8 } from "./group.js";
import { asContext } from "./manifest.js";
import { exactKeys, trackingHash } from "./ballots.js";

const BOARD_TAG = utf8("tally/v1/board\0");

/** head_0 = SHA256("tally/v1/board\0" ‖ fingerprint). */
export function boardGenesis(fingerprint) {
  return sha256(concatBytes(BOARD_TAG, bytes32(fingerprint, "fingerprint")));
}

/** head_n = SHA256(head_{n−1} ‖ tracking_hash_n). */
export function boardNext(previous, tracking) {
  return sha256(concatBytes(bytes32(previous, "head"), bytes32(tracking, "tracking hash")));
}

/** The board head (hex) after these tracking hashes (bytes or hex), head_0 if none (13.). */
export function boardHead(fingerprint, trackingHashes) {
  let head = boardGenesis(fingerprint);
  for (const t of trackingHashes) head = boardNext(head, t);
  return toHex(head);
}

/**
 * Read ballots.jsonl (13.; checks 3 and 6 of 18.): every line the canonical-JSON object
 * {ballot, chain, index, tracking_hash}, index = n, tracking_hash the ballot's, chain = head_n.
 * Returns {ballots, head (hex)}. The ballots themselves are checked by aggregateFromBallots.
 */
export function readBoard(manifestOrContext, text) {
  const ctx = asContext(manifestOrContext);
  let head = boardGenesis(ctx.fingerprint);
  const ballots = [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((line, k) => {
    const n = k + 1;
    let entry;
    try {
      entry = parseJson(line);
    } catch (e) {
      fail("board", `board line ${n}: ${e.message}`);
    }
    if (!isPlainObject(entry) || !exactKeys(entry, ["ballot", "chain", "index", "tracking_hash"]))
      fail("board", `board line ${n}: expected exactly index, ballot, tracking_hash, chain`);
    if (entry.index !== n) fail("board", `board line ${n}: index ${entry.index}`);
    const tracking = trackingHash(entry.ballot);
    if (entry.tracking_hash !== toHex(tracking))
      fail("board", `board line ${n}: wrong tracking hash`);
    head = boardNext(head, tracking);
    if (entry.chain !== toHex(head)) fail("board", `board line ${n}: the chain is broken`);
    ballots.push(entry.ballot);
  });
  return { ballots, head: toHex(head) };
}
