// The trustee page's steps: the aggregate from the board, the check of a board's ballots, and the
// decryption share (14.2) of an opened key, including the empty poll (all identities).

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import * as T from "../tally/index.js";
import * as Trustee from "../trustee.js";

const load = (name) =>
  JSON.parse(fs.readFileSync(new URL(`../../tests/vectors/${name}`, import.meta.url), "utf8"));
const BALLOT = load("ballot.json");
const DLEQ = load("dleq.json");
const TKEY = load("trustee_key.json");
const MANIFEST = BALLOT.manifest;
const KEYS = BALLOT.trustee_secrets_hex.map((x, t) =>
  T._trusteeKeyFromSecret(T.scalarFromHex(x), MANIFEST.election.trustees[t]),
);

test("trustee.js exports what the trustee page imports", () => {
  for (const name of [
    "openTrusteeKey",
    "decryptShare",
    "boardHead",
    "aggregateFromBallots",
    "canonicalJson",
    "sha256Hex",
    "readBoard",
    "verifyShare",
    "canonicalSha256Hex",
    "fingerprintHex",
  ])
    assert.equal(typeof Trustee[name], "function", name);
  assert.equal(Trustee.fingerprintHex(MANIFEST), BALLOT.poll_context.fingerprint);
});

test("one-ballot aggregate: the share reproduces the DLEQ vector and decrypts the choices", () => {
  const aggregate = T.aggregateFromBallots(MANIFEST, [BALLOT.ballot]);
  assert.equal(aggregate.board_head, load("board.json").entries[0].chain);
  assert.equal(aggregate.ballot_count, 1);
  assert.deepEqual(Object.keys(aggregate), [
    "format",
    "poll",
    "board_head",
    "ballot_count",
    "ciphertexts",
  ]);
  const v = DLEQ.cases[0];
  const w = T.scalarFromHex(v.w_hex);
  const share = T.decryptShare(KEYS[0], aggregate, MANIFEST, {
    _nonce: (i, j) => (i === 0 && j === 1 ? w : T.randomScalar()),
  });
  assert.deepEqual(share.shares[0][1], v.share_item); // byte for byte, from the stored nonce
  assert.deepEqual(Object.keys(share), [
    "format",
    "poll",
    "trustee",
    "public_key",
    "aggregate_sha256",
    "shares",
  ]);
  assert.equal(share.aggregate_sha256, Trustee.canonicalSha256Hex(aggregate));
  const progress = [];
  const shares = [
    share,
    T.decryptShare(KEYS[1], aggregate, MANIFEST, { onProgress: (p) => progress.push(p.done) }),
  ];
  assert.deepEqual(progress, [1, 2, 3, 4, 5, 6, 7, 8]);
  const partials = shares.map((s, t) => T.verifyShare(aggregate, MANIFEST.election.trustees[t], s));
  assert.deepEqual(T.combineShares(aggregate, partials, 1), [
    [0, 1, 0, 0],
    [0, 0, 0, 0],
  ]);
});

test("the empty poll: aggregate, shares and counts of identities", () => {
  const aggregate = T.aggregateFromBallots(MANIFEST, []);
  assert.equal(aggregate.board_head, load("board.json").genesis);
  for (const row of aggregate.ciphertexts)
    for (const ct of row)
      assert.deepEqual(ct, { a: "01" + "00".repeat(31), b: "01" + "00".repeat(31) });
  const shares = KEYS.map((k) => T.decryptShare(k, aggregate, MANIFEST));
  for (const s of shares)
    for (const row of s.shares)
      for (const item of row) assert.equal(item.d, "01" + "00".repeat(31));
  const partials = shares.map((s, t) => T.verifyShare(aggregate, MANIFEST.election.trustees[t], s));
  assert.deepEqual(T.combineShares(aggregate, partials, 0), [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ]);
});

test("decryptShare refuses another poll, another shape and a key that is not a trustee", async () => {
  const aggregate = T.aggregateFromBallots(MANIFEST, [BALLOT.ballot]);
  const otherPoll = { ...aggregate, poll: "00".repeat(32) };
  assert.throws(() => T.decryptShare(KEYS[0], otherPoll, MANIFEST), /another poll/);
  const shape = { ...aggregate, ciphertexts: aggregate.ciphertexts.slice(0, 1) };
  assert.throws(() => T.decryptShare(KEYS[0], shape, MANIFEST), /one ciphertext per subject/);
  const badPoint = structuredClone(aggregate);
  badPoint.ciphertexts[0][0].a = "00".repeat(32);
  assert.throws(() => T.decryptShare(KEYS[0], badPoint, MANIFEST), /damaged/);
  // trustee_key.json's key is trustee 1 of ballot.json's poll; a manifest without it refuses it.
  const key = await T.openTrusteeKey(TKEY.key_file, TKEY.passphrase);
  assert.equal(key.publicKeyHex, KEYS[0].publicKeyHex);
  const share = T.decryptShare(key, aggregate, MANIFEST);
  T.verifyShare(aggregate, MANIFEST.election.trustees[0], share);
  const renamed = structuredClone(MANIFEST);
  renamed.election.trustees[0] = load("schnorr.json").trustee_public;
  renamed.election.trustees[0] = { ...renamed.election.trustees[0], name: "Tên khác" };
  const other = T.aggregateFromBallots(MANIFEST, []);
  const otherAggregate = { ...other, poll: T.toHex(T.pollFingerprint(renamed.election)) };
  assert.throws(
    () => T.decryptShare(key, otherAggregate, renamed),
    /not one of the poll's trustees/,
  );
  assert.throws(
    () => T.decryptShare({ name: "x", publicKeyHex: key.publicKeyHex }, aggregate, MANIFEST),
    /not an opened trustee key/,
  );
});

test("aggregateFromBallots checks every ballot and the credentials (once each, committed)", () => {
  const twice = () => T.aggregateFromBallots(MANIFEST, [BALLOT.ballot, BALLOT.ballot]);
  assert.throws(twice, /voted twice/);
  const unlisted = structuredClone(MANIFEST);
  unlisted.credentials = unlisted.credentials.filter((k) => k !== BALLOT.ballot.credential);
  assert.throws(() => T.aggregateFromBallots(unlisted, [BALLOT.ballot]), /not in the manifest/);
  const tampered = structuredClone(BALLOT.ballot);
  tampered.answers[0].choices[0].proof.s0 = tampered.answers[1].choices[0].proof.s0;
  assert.throws(() => T.aggregateFromBallots(MANIFEST, [tampered]), /ballot 1/);
  // Without verification (the caller has checked the ballots), the same sums.
  const quick = T.aggregateFromBallots(MANIFEST, [BALLOT.ballot], { verify: false });
  assert.deepEqual(quick, T.aggregateFromBallots(MANIFEST, [BALLOT.ballot]));
});
