// The board checked in pieces, as tally/board_check.py checks it (docs/protocol.md 13., 14.1,
// checks 3-6 of 18.): the same checks as readBoard then aggregateFromBallots, split so that the
// costly part runs on many Web Workers and the page holds only a window of the board at a time.
//
//   checkLines(ctx, first, lines)          in a worker: lines first, first+1, … of ballots.jsonl:
//                                          each line's form and index, its ballot verified (12.4),
//                                          the tracking hash computed once and compared; returns
//                                          the tracking hashes, chains, credentials and the sum
//                                          of the piece's ciphertexts
//   const acc = new BoardAccumulator(ctx)  on the page, pieces in board order: the hash chain,
//   acc.add(piece)                         each credential listed and used once, the running sum
//   acc.aggregate(paper)                   the aggregate (14.1), with the paper ballots (13.3)
//
// The first failure in board order is reported, with readBoard's and aggregateFromBallots' words.

import { isPlainObject, parseJson } from "./canonical.js";
import { ZERO_CIPHERTEXT, addCiphertexts } from "./elgamal.js";
import { fail, fromHex, pointFromCoordinates, pointToCoordinates, toHex } from "./group.js";
import { asContext } from "./manifest.js";
import { exactKeys, trackingHash, verifyBallot } from "./ballots.js";
import { boardGenesis, boardNext } from "./board.js";
import { makeAggregate } from "./trustees.js";

const ENTRY_FIELDS = ["ballot", "chain", "index", "tracking_hash"];

function zeroSums(ctx) {
  return Array.from({ length: ctx.subjects }, () => Array(ctx.grades).fill(ZERO_CIPHERTEXT));
}

function addInto(sums, cts) {
  for (let i = 0; i < sums.length; i++)
    for (let j = 0; j < sums[i].length; j++) sums[i][j] = addCiphertexts(sums[i][j], cts[i][j]);
}

/** Sums as a worker posts them: [[[a, b]]], each point its coordinates. */
export function sumsToWire(sums) {
  return sums.map((row) => row.map((ct) => [pointToCoordinates(ct.a), pointToCoordinates(ct.b)]));
}

/** Sums posted by our own worker back to points. */
export function sumsFromWire(rows) {
  return rows.map((row) =>
    row.map(([a, b]) => ({ a: pointFromCoordinates(a), b: pointFromCoordinates(b) })),
  );
}

/**
 * Lines `first`, `first + 1`, … of ballots.jsonl (1-based): each the canonical-JSON object
 * {ballot, chain, index, tracking_hash} with index = n, its ballot valid (12.4) and its tracking
 * hash the ballot's. The chain and the credentials are checked by BoardAccumulator, in order.
 * A failure names the first failing line: `board line n: …` (form) or `ballot n: …` (the ballot).
 * @returns {{trackings: string[], chains: unknown[], credentials: string[], sums: object[][]}}
 */
export function checkLines(manifestOrContext, first, lines) {
  const ctx = asContext(manifestOrContext);
  const sums = zeroSums(ctx);
  const trackings = [];
  const chains = [];
  const credentials = [];
  lines.forEach((line, k) => {
    const n = first + k;
    let entry;
    try {
      entry = parseJson(line);
    } catch (e) {
      fail("board", `board line ${n}: ${e.message}`);
    }
    if (!isPlainObject(entry) || !exactKeys(entry, ENTRY_FIELDS))
      fail("board", `board line ${n}: expected exactly index, ballot, tracking_hash, chain`);
    if (entry.index !== n) fail("board", `board line ${n}: index ${entry.index}`);
    // The tracking hash is computed once, here, and given to verifyBallot (which returns it).
    const trackingBytes = trackingHash(entry.ballot);
    const tracking = toHex(trackingBytes);
    if (entry.tracking_hash !== tracking) fail("board", `board line ${n}: wrong tracking hash`);
    let v;
    try {
      v = verifyBallot(ctx, entry.ballot, trackingBytes);
    } catch (e) {
      fail("board", `ballot ${n}: ${e.message}`);
    }
    trackings.push(tracking);
    chains.push(entry.chain);
    credentials.push(v.credential);
    addInto(sums, v.ciphertexts);
  });
  return { trackings, chains, credentials, sums };
}

/**
 * The page's side: pieces from checkLines, added in board order. Holds the running head, the
 * credentials seen (to refuse a second ballot) and the running sum, never the ballots.
 */
export class BoardAccumulator {
  /** @param {object} manifestOrContext a manifest, a PollContext, or (from a worker's check of
   * the manifest) {fingerprint (bytes), credentials (hex), subjects, grades} */
  constructor(manifestOrContext) {
    this.ctx = asContext(manifestOrContext);
    this.listed = new Set(this.ctx.credentials);
    this.seen = new Set();
    this.head = boardGenesis(this.ctx.fingerprint);
    this.count = 0;
    this.sums = zeroSums(this.ctx);
  }

  /** @param {{trackings: string[], chains: unknown[], credentials: string[], sums: object[][]}} p */
  add(p) {
    const piece = p;
    piece.trackings.forEach((tracking, k) => {
      const n = this.count + 1;
      this.head = boardNext(this.head, fromHex(tracking, 32, "tracking hash"));
      if (piece.chains[k] !== toHex(this.head))
        fail("board", `board line ${n}: the chain is broken`);
      const credential = piece.credentials[k];
      if (!this.listed.has(credential))
        fail("board", `ballot ${n}: the credential is not in the manifest`);
      if (this.seen.has(credential)) fail("board", `ballot ${n}: the credential has voted twice`);
      this.seen.add(credential);
      this.count = n;
    });
    addInto(this.sums, piece.sums);
  }

  /** The board head so far (hex). */
  headHex() {
    return toHex(this.head);
  }

  /** The credentials of the board's ballots (hex), for readPaper. */
  credentials() {
    return [...this.seen];
  }

  /** The aggregate (14.1) of the board and these paper ballots (each with `ciphertexts`). */
  aggregate(paper = []) {
    const sums = this.sums.map((row) => row.slice());
    for (const p of paper) addInto(sums, p.ciphertexts);
    return makeAggregate(this.ctx.fingerprint, this.headHex(), this.count + paper.length, sums);
  }
}

/**
 * Split text that arrives in pieces into lines as readBoard splits a whole file: on "\n", with a
 * last empty line (the file's final newline) dropped. push(text) returns the complete lines.
 */
export class LineSplitter {
  constructor() {
    this.rest = "";
  }

  push(text) {
    const parts = (this.rest + text).split("\n");
    this.rest = parts.pop();
    return parts;
  }

  /** The last line, if the file does not end with a newline. */
  end() {
    const last = this.rest;
    this.rest = "";
    return last === "" ? [] : [last];
  }
}
