// The trustee page's steps: the aggregate from the board, the check of a board's ballots, and the
// decryption share (14.2) of an opened key, including the empty poll (all identities).

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { scrypt } from "@noble/hashes/scrypt.js";
import { gcm } from "@noble/ciphers/aes.js";
import * as T from "../tally/index.js";
import * as Trustee from "../trustee.js";
import { manifests, resignedList } from "../../tests/vectors/js_generate.mjs";

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
  // The proof of a version-2 key binds its name (9.1): a renamed entry is refused at once.
  assert.throws(
    () => T.decryptShare(key, otherAggregate, renamed),
    /proof of knowledge of the key does not verify/,
  );
  assert.throws(
    () => T.decryptShare({ name: "x", publicKeyHex: key.publicKeyHex }, aggregate, MANIFEST),
    /not an opened trustee key/,
  );
});

test("aggregateFromBallots checks every ballot and the credentials (once each, committed)", () => {
  const twice = () => T.aggregateFromBallots(MANIFEST, [BALLOT.ballot, BALLOT.ballot]);
  assert.throws(twice, /voted twice/);
  // Version 2: the credentials are the authority's signed list (credential_list.keys).
  const unlisted = structuredClone(MANIFEST);
  unlisted.credential_list = resignedList(MANIFEST.credential_list, {
    keys: MANIFEST.credential_list.keys.filter((k) => k !== BALLOT.ballot.credential),
    count: 1,
  });
  assert.throws(() => T.aggregateFromBallots(unlisted, [BALLOT.ballot]), /not in the manifest/);
  // A list not signed by the election's authority: the manifest is refused outright.
  const forged = structuredClone(MANIFEST);
  forged.credential_list.keys.pop();
  assert.throws(() => T.aggregateFromBallots(forged, [BALLOT.ballot]), /signature/);
  // Version 1: the manifest's own list.
  const v1 = manifests()["v1-blank-allowed"];
  const ballot = load("js/js_ballot.json").cases.find((c) => c.label === "C").ballot;
  assert.equal(T.aggregateFromBallots(v1, [ballot]).ballot_count, 1);
  const v1Unlisted = structuredClone(v1);
  v1Unlisted.credentials = v1.credentials.filter((k) => k !== ballot.credential);
  assert.throws(() => T.aggregateFromBallots(v1Unlisted, [ballot]), /not in the manifest/);
  const tampered = structuredClone(BALLOT.ballot);
  tampered.answers[0].choices[0].proof.s0 = tampered.answers[1].choices[0].proof.s0;
  assert.throws(() => T.aggregateFromBallots(MANIFEST, [tampered]), /ballot 1/);
  // Without verification (the caller has checked the ballots), the same sums.
  const quick = T.aggregateFromBallots(MANIFEST, [BALLOT.ballot], { verify: false });
  assert.deepEqual(quick, T.aggregateFromBallots(MANIFEST, [BALLOT.ballot]));
});

// --- protocol version 2: the trustee's signing key -------------------------------------------

/** A key file sealed in JavaScript (scrypt at its lowest allowed cost, to keep the test quick). */
function seal(x, publicJson, passphrase) {
  const salt = new Uint8Array(16).fill(7);
  const nonce = new Uint8Array(12).fill(9);
  const kdf = { name: "scrypt", salt: T.toHex(salt), n: 2 ** 14, r: 8, p: 1 };
  const key = scrypt(T.utf8(passphrase), salt, { N: kdf.n, r: kdf.r, p: kdf.p, dkLen: 32 });
  const sealed = gcm(key, nonce, T.canonicalJson(publicJson)).encrypt(T.encodeScalar(x));
  return {
    format: "tally-trustee-key/1",
    public: publicJson,
    kdf,
    cipher: { name: "aes-256-gcm", nonce: T.toHex(nonce), ciphertext: T.toHex(sealed) },
  };
}

test("a key file of either public form opens with the same derived signing key", async () => {
  const v2 = await T.openTrusteeKey(TKEY.key_file, TKEY.passphrase);
  const v1 = await T.openTrusteeKey(TKEY.key_file_v1, TKEY.passphrase);
  assert.equal(TKEY.key_file_v1.public.format, "tally-trustee-public/1");
  assert.equal(v1.publicKeyHex, v2.publicKeyHex);
  assert.equal(v1.signingKeyHex, TKEY.key_file.public.signing_key);
  assert.equal(v2.signingKeyHex, MANIFEST.election.trustees[0].signing_key);
  assert.equal(KEYS[0].signingKeyHex, v2.signingKeyHex);
  assert.deepEqual(v1.public, TKEY.key_file_v1.public); // the file's public part, as written
  // Either decrypts for the version-2 manifest, byte for byte the same share from the same nonce.
  const aggregate = T.aggregateFromBallots(MANIFEST, [BALLOT.ballot]);
  const w = T.scalarFromHex(DLEQ.cases[0].w_hex);
  const shares = [v1, v2].map((k) => T.decryptShare(k, aggregate, MANIFEST, { _nonce: () => w }));
  assert.deepEqual(shares[0], shares[1]);
  T.verifyShare(aggregate, MANIFEST.election.trustees[0], shares[0]);
});

test("a version-1 manifest takes a key file of either form", async () => {
  const v1 = manifests()["v1-blank-allowed"];
  const aggregate = T.aggregateFromBallots(v1, []);
  for (const file of [TKEY.key_file, TKEY.key_file_v1]) {
    const key = await T.openTrusteeKey(file, TKEY.passphrase);
    const share = T.decryptShare(key, aggregate, v1);
    T.verifyShare(aggregate, v1.election.trustees[0], share);
  }
});

test("a version-2 manifest that names another signing key for the trustee is refused", () => {
  // The key, proof and name are the trustee's, the signing key someone else's (here trustee 2's):
  // a server could sign the attendance statement in the trustee's name.
  // The key's proof binds its signing key (9.1): the manifest itself is refused.
  const swapped = structuredClone(MANIFEST);
  swapped.election.trustees[0].signing_key = MANIFEST.election.trustees[1].signing_key;
  assert.throws(
    () => T.aggregateFromBallots(swapped, []),
    /proof of knowledge of the key does not verify/,
  );
});

test("a key file whose signing key is not its secret's is refused", async () => {
  const x = T.scalarFromHex(TKEY.x_hex);
  const honest = seal(x, TKEY.key_file.public, "mật khẩu");
  assert.equal((await T.openTrusteeKey(honest, "mật khẩu")).signingKeyHex, KEYS[0].signingKeyHex);
  const other = { ...TKEY.key_file.public, signing_key: MANIFEST.election.trustees[1].signing_key };
  await assert.rejects(
    T.openTrusteeKey(seal(x, other, "mật khẩu"), "mật khẩu"),
    (e) => /signing key does not match|proof of knowledge/.test(e.message),
  );
  assert.throws(
    () => T._trusteeKeyFromSecret(x, other),
    /signing key does not match|proof of knowledge/,
  );
  // The signing key is public: shown in JSON with the name and key, never the secret.
  assert.deepEqual(JSON.parse(JSON.stringify(KEYS[0])), {
    name: KEYS[0].name,
    public_key: KEYS[0].publicKeyHex,
    signing_key: KEYS[0].signingKeyHex,
  });
});
