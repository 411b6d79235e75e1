// The board checked in pieces (js/tally/board-check.js, what the trustee page's workers run):
// the same head and aggregate as readBoard + aggregateFromBallots, piece size or not, and the same
// refusals: a broken chain, a wrong index or tracking hash, a bad ballot, a credential twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import * as T from "../tally/index.js";

const load = (name) =>
  JSON.parse(fs.readFileSync(new URL(`../../tests/vectors/${name}`, import.meta.url), "utf8"));
const BALLOT = load("ballot.json");
const SHARE = load("js/js_share.json");
const MANIFEST = BALLOT.manifest;

function inPieces(text, size, chunk = 7) {
  // Cut the text at arbitrary places, as a stream arrives, then into pieces of `size` lines.
  const splitter = new T.LineSplitter();
  const lines = [];
  for (let at = 0; at < text.length; at += chunk)
    lines.push(...splitter.push(text.slice(at, at + chunk)));
  lines.push(...splitter.end());
  const acc = new T.BoardAccumulator(MANIFEST);
  for (let k = 0; k < lines.length; k += size) {
    const piece = T.checkLines(MANIFEST, k + 1, lines.slice(k, k + size));
    // What a worker posts and the page reads back.
    acc.add({ ...piece, sums: T.sumsFromWire(structuredClone(T.sumsToWire(piece.sums))) });
  }
  return acc;
}

const entries = () => SHARE.ballots_jsonl.trimEnd().split("\n").map((l) => T.parseJson(l));
const write = (es) => es.map((e) => T.canonicalJsonText(e) + "\n").join("");

test("pieces give readBoard's head and aggregateFromBallots' aggregate", () => {
  const { ballots, head } = T.readBoard(MANIFEST, SHARE.ballots_jsonl);
  const whole = T.aggregateFromBallots(MANIFEST, ballots);
  for (const size of [1, 2, 3]) {
    const acc = inPieces(SHARE.ballots_jsonl, size);
    assert.equal(acc.headHex(), head);
    assert.equal(acc.count, 2);
    assert.equal(T.canonicalJsonText(acc.aggregate()), T.canonicalJsonText(whole));
    assert.equal(T.canonicalJsonText(acc.aggregate()), T.canonicalJsonText(SHARE.aggregate));
  }
  // No final newline: the last line still counts, as in readBoard.
  assert.equal(inPieces(SHARE.ballots_jsonl.trimEnd(), 2).headHex(), head);
  assert.equal(inPieces("", 2).headHex(), T.readBoard(MANIFEST, "").head);
});

test("pieces refuse what readBoard and aggregateFromBallots refuse", () => {
  const swapped = entries().reverse();
  assert.throws(() => inPieces(write(swapped), 2), /board line 1: index 2/);
  const badChain = entries();
  badChain[1].chain = badChain[0].chain;
  assert.throws(() => inPieces(write(badChain), 1), /board line 2: the chain is broken/);
  const badTracking = entries();
  badTracking[0].tracking_hash = badTracking[1].tracking_hash;
  assert.throws(() => inPieces(write(badTracking), 2), /board line 1: wrong tracking hash/);
  const extra = entries();
  extra[1].note = "x";
  assert.throws(() => inPieces(write(extra), 2), /board line 2: expected exactly/);
  assert.throws(() => inPieces("{\n", 2), /board line 1/);
});

test("a bad ballot is caught by name, whatever the tracking hash and chain say", () => {
  // The proof broken, the line's tracking hash and the chain made again around it: only
  // verifying the ballot can tell (its signature is checked first, so it is made again too).
  const es = entries();
  const ballot = es[1].ballot;
  const proof = ballot.answers[0].choices[1].proof;
  [proof.c0, proof.c1] = [proof.c1, proof.c0];
  const slip = load("credentials.json")
    .credentials.map((c) => T.Credential.fromCode(c.code))
    .find((c) => c.publicKeyHex === ballot.credential);
  assert.ok(slip, "the vectors' ballot is signed by one of the vectors' slips");
  ballot.signature = T.toHex(slip.sign(T.signedBytes(ballot)));
  let head = T.boardGenesis(T.pollContext(MANIFEST).fingerprint);
  for (const e of es) {
    const tracking = T.trackingHash(e.ballot);
    head = T.boardNext(head, tracking);
    e.tracking_hash = T.toHex(tracking);
    e.chain = T.toHex(head);
  }
  assert.throws(
    () => inPieces(write(es), 2),
    /ballot 2: subject 1, grade 2: the 0\/1 proof does not verify/,
  );
  // And a ballot twice: the credential has voted twice, named at its second line.
  const twice = entries().slice(0, 1);
  const again = structuredClone(twice[0]);
  again.index = 2;
  const previous = T.fromHex(twice[0].chain, 32);
  again.chain = T.toHex(T.boardNext(previous, T.fromHex(again.tracking_hash, 32)));
  assert.throws(
    () => inPieces(write([twice[0], again]), 1),
    /ballot 2: the credential has voted twice/,
  );
});
