// The booth: fresh random ballots encrypt, verify and pass their Benaloh challenge; the worker's
// message protocol; and the committed JavaScript vectors (tests/vectors/js/) are current and valid.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import * as T from "../tally/index.js";
import { respond } from "../pages/booth-worker.js";
import {
  build,
  manifests,
  render,
  replaySource,
  resignedList,
  toVersion1,
} from "../../tests/vectors/js_generate.mjs";

const load = (name) =>
  JSON.parse(fs.readFileSync(new URL(`../../tests/vectors/${name}`, import.meta.url), "utf8"));
const BALLOT = load("ballot.json");
const CREDS = load("credentials.json");
const CODES = CREDS.credentials.map((c) => c.code);
const { "blank-allowed": BLANK, "no-blank": STRICT, "v1-blank-allowed": V1 } = manifests();

function withSubjects(manifest, n) {
  const m = structuredClone(manifest);
  m.election.subjects = Array.from({ length: n }, (_, i) => ({
    ...m.election.subjects[i % 2],
    key: `s-${i}`,
  }));
  return m;
}

test("fresh random ballots verify, pass their challenge and differ each time", () => {
  for (const [manifest, choices] of [
    [BLANK, [3, null]],
    [BLANK, [null, null]],
    [STRICT, [0, 3]],
    [withSubjects(STRICT, 5), [0, 1, 2, 3, 0]],
    [V1, [1, null]],
    [withSubjects(V1, 3), [0, null, 2]],
  ]) {
    const progress = [];
    const { ballot, randomness } = T.encryptBallot(manifest, CODES[1], choices, {
      onProgress: (p) => progress.push(p.done),
    });
    assert.deepEqual(
      progress,
      Array.from({ length: choices.length + 1 }, (_, i) => i),
    );
    const v = T.verifyBallot(manifest, ballot);
    assert.equal(v.credential, CREDS.credentials[1].public_key_hex);
    assert.ok(T.checkChallenge(manifest, ballot, choices, randomness));
    assert.ok(randomness.every((rs) => rs.every((r) => /^[0-9a-f]{64}$/.test(r))));
    const wrong = choices.map((c) =>
      c === null ? (manifest.election.allow_blank ? 0 : null) : (c + 1) % 4,
    );
    assert.ok(!T.checkChallenge(manifest, ballot, wrong, randomness));
    const again = T.encryptBallot(manifest, CODES[1], choices).ballot;
    assert.notEqual(T.trackingCode(T.trackingHash(again)), T.trackingCode(T.trackingHash(ballot)));
    assert.match(T.trackingCode(T.trackingHash(ballot)), /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
  }
});

test("choices are checked: count, range, blank only where allowed", () => {
  const kinds = (manifest, choices) => {
    try {
      T.encryptBallot(manifest, CODES[0], choices);
      return "ok";
    } catch (e) {
      assert.ok(e instanceof T.TallyError);
      return e.code;
    }
  };
  assert.equal(kinds(STRICT, [0, null]), "choices-incomplete");
  assert.equal(kinds(STRICT, [0]), "choices");
  assert.equal(kinds(STRICT, [0, 4]), "choices");
  assert.equal(kinds(STRICT, [0, 1.5]), "choices");
  assert.equal(kinds(STRICT, [0, "1"]), "choices");
  assert.equal(kinds(BLANK, [null, -1]), "choices");
  assert.equal(kinds(BLANK, [null, null]), "ok");
  assert.equal(kinds(BLANK, "x"), "choices");
});

test("a damaged manifest is refused before anything is encrypted", () => {
  const other = T.pointHex(T.mulG(5n)); // a valid Ed25519 key that is no one's here
  const cases = [
    (m) => (m.format = "tally-manifest/3"),
    (m) => (m.format = "tally-manifest/1"), // a version-2 manifest is not a version-1 one
    (m) => (m.election.poll_uid = m.election.poll_uid.toUpperCase()),
    (m) => delete m.election.poll_uid,
    (m) => (m.election.poll_uid = "00".repeat(16)), // the list is for another poll
    (m) => (m.credential_list.signature = m.credential_list.signature.replace(/^./, "0")),
    (m) => m.credential_list.keys.pop(), // changed after signing
    (m) => (m.credential_list.poll_uid = "00".repeat(16)),
    (m) => (m.election.credentials.authority = other),
    (m) => (m.credential_list = resignedList(m.credential_list, { authority: other })),
    (m) => (m.credential_list.format = "tally-credential-list/2"),
    (m) => delete m.credential_list,
    (m) => delete m.election.credentials,
    (m) => (m.election.trustees = toVersion1(m, { pollId: "x", present: 0 }).election.trustees),
    (m) => delete m.election.trustees[1].signing_key,
    (m) => (m.election.trustees[1].signing_key = "01" + "00".repeat(31)), // the identity
    (m) => (m.election.trustees[1].signing_key = m.election.trustees[1].signing_key.toUpperCase()),
    (m) => (m.election.group = "p256"),
    (m) => (m.election.public_key = m.election.trustees[0].public_key),
    (m) => (m.election.trustees[1].proof.s = m.election.trustees[0].proof.s),
    (m) => (m.election.trustees = [m.election.trustees[0], m.election.trustees[0]]),
    (m) => (m.election.allow_blank = false),
    (m) => m.election.grades.reverse(),
    (m) => delete m.election.rules,
    (m) => (m.election.subjects = []),
    (m) => delete m.election,
  ];
  for (const change of cases) {
    const m = structuredClone(BLANK);
    change(m);
    assert.throws(
      () => T.encryptBallot(m, CODES[0], [0, 0]),
      (e) => e instanceof T.TallyError && e.code === "manifest",
      String(change),
    );
  }
  // Version 1: the same checks, in its own formats.
  const v1Cases = [
    (m) => (m.format = "tally-manifest/2"),
    (m) => (m.election.trustees[0] = BLANK.election.trustees[0]), // a /2 trustee in version 1
    (m) => (m.election.public_key = m.election.trustees[0].public_key),
    (m) => (m.election.allow_blank = false),
    (m) => delete m.credentials,
    (m) => (m.credentials = m.credentials.map((k) => k.toUpperCase())),
  ];
  for (const change of v1Cases) {
    const m = structuredClone(V1);
    change(m);
    assert.throws(
      () => T.encryptBallot(m, CODES[0], [0, 0]),
      (e) => e instanceof T.TallyError && e.code === "manifest",
      String(change),
    );
  }
});

test("the poll context of either version: its listed credentials, uid and version", () => {
  const v2 = T.pollContext(BLANK);
  assert.equal(v2.version, 2);
  assert.equal(v2.pollUid, BLANK.election.poll_uid);
  assert.deepEqual(v2.credentials, BLANK.credential_list.keys);
  assert.ok(v2.trustees.every((t) => /^[0-9a-f]{64}$/.test(t.signingKeyHex)));
  const v1 = T.pollContext(V1);
  assert.equal(v1.version, 1);
  assert.equal(v1.pollUid, null);
  assert.deepEqual(v1.credentials, V1.credentials);
  assert.ok(v1.trustees.every((t) => t.signingKeyHex === null));
  assert.deepEqual([T.manifestVersion(BLANK), T.manifestVersion(V1)], [2, 1]);
  assert.deepEqual([T.manifestVersion({ format: "x" }), T.manifestVersion(null)], [0, 0]);
  // The same trustees and joint key; another election, so another fingerprint.
  assert.equal(T.pointHex(v1.publicKey), T.pointHex(v2.publicKey));
  assert.notEqual(v1.fingerprintHex, v2.fingerprintHex);
});

test("worker: credential, progress, done, and errors in Vietnamese then English", () => {
  const run = (msg) => {
    const out = [];
    respond(msg, (m) => out.push(structuredClone(m))); // what postMessage would copy
    return out;
  };
  assert.deepEqual(run({ type: "credential", manifest: BLANK, code: CODES[0].toLowerCase() }), [
    { type: "credential", public_key: CREDS.credentials[0].public_key_hex },
  ]);
  const out = run({
    type: "encrypt",
    manifest: BLANK,
    code: CODES[0],
    choices: [2, null],
    verify: true,
  });
  const done = out.pop();
  assert.deepEqual(
    out,
    [0, 1, 2].map((n) => ({ type: "progress", done: n, total: 2 })),
  );
  assert.equal(done.type, "done");
  assert.deepEqual(Object.keys(done).sort(), [
    "ballot",
    "commitment",
    "tracking_code",
    "tracking_hash",
    "type",
  ]);
  T.verifyBallot(BLANK, done.ballot);
  assert.equal(done.tracking_code, T.trackingCode(T.trackingHash(done.ballot)));
  // Nothing random leaves the worker with the ballot: no seed, no randomness.
  assert.ok(!JSON.stringify(done).includes("seed") && !("randomness" in done));

  // The challenge of that encryption: the notice for the server (hashes of each a, signed) and,
  // for the voter only, the file whose seed rebuilds the commitment shown.
  const [challenged] = run({ type: "challenge" });
  assert.equal(challenged.type, "challenge");
  assert.deepEqual(Object.keys(challenged.notice).sort(), [
    "a_hashes",
    "credential",
    "format",
    "poll",
    "signature",
  ]);
  const as = done.ballot.answers.flatMap((a) => a.choices.map((c) => T.aHash(T.pointFromHex(c.a))));
  assert.deepEqual(challenged.notice.a_hashes, as);
  const noticeText = JSON.stringify(challenged.notice);
  assert.ok(!noticeText.includes(challenged.file.seed) && !noticeText.includes("choices"));
  assert.equal(challenged.file.commitment, done.commitment);
  const verdict = T.checkChallengeFile(BLANK, T.parseChallengeText(challenged.qr_text));
  assert.deepEqual([verdict.matches, verdict.choices], [true, [2, null]]);
  assert.deepEqual(T.checkChallengeFile(BLANK, challenged.file).matches, true);
  // The seed is forgotten once revealed: a second challenge has nothing to reveal.
  assert.equal(run({ type: "challenge" })[0].kind, "request");

  const badCode = CODES[0].slice(0, -1) + "1";
  const errors = [
    [
      { type: "credential", manifest: BLANK, code: badCode },
      "code",
      "Mã thẻ không hợp lệ",
      "Invalid slip code",
    ],
    [
      { type: "encrypt", manifest: BLANK, code: badCode, choices: [0, 1] },
      "code",
      "Mã thẻ không hợp lệ",
      "Invalid slip code",
    ],
    [
      { type: "encrypt", manifest: STRICT, code: CODES[0], choices: [0, null] },
      "choices-incomplete",
    ],
    [{ type: "encrypt", manifest: STRICT, code: CODES[0], choices: [0, 9] }, "choices"],
    [{ type: "encrypt", manifest: { format: "x" }, code: CODES[0], choices: [0, 1] }, "manifest"],
    [{ type: "sign", manifest: BLANK, code: CODES[0] }, "request"],
    [null, "request"],
  ];
  for (const [msg, kind, vi, en] of errors) {
    const [reply, ...rest] = run(msg);
    assert.equal(rest.length, 0);
    assert.equal(reply.type, "error");
    assert.equal(reply.kind, kind, JSON.stringify(msg && msg.type));
    assert.deepEqual(Object.keys(reply), ["type", "kind", "message_vi", "message_en"]);
    if (vi) assert.deepEqual([reply.message_vi, reply.message_en], [vi, en]);
    // Never the code or the choices.
    const text = JSON.stringify(reply);
    assert.ok(
      !text.includes(badCode) &&
        !text.includes(CODES[0]) &&
        !text.includes(CODES[0].replaceAll("-", "")),
    );
    assert.ok(!/\[0, ?9\]|\[0, ?null\]/.test(text));
  }
  // A slip of another poll: refused before encrypting (version 2: not in the authority's signed
  // list; version 1: not in the manifest's list).
  const other = structuredClone(BLANK);
  other.credential_list = resignedList(other.credential_list, {
    keys: [CREDS.credentials[1].public_key_hex],
    count: 1,
    reserve: 0,
  });
  const [reply] = run({ type: "encrypt", manifest: other, code: CODES[0], choices: [0, 0] });
  assert.equal(reply.kind, "not-listed");
  assert.equal(run({ type: "credential", manifest: other, code: CODES[1] })[0].type, "credential");
  const otherV1 = structuredClone(V1);
  otherV1.credentials = [CREDS.credentials[1].public_key_hex];
  const [replyV1] = run({ type: "encrypt", manifest: otherV1, code: CODES[0], choices: [0, 0] });
  assert.equal(replyV1.kind, "not-listed");
  const [okV1] = run({ type: "credential", manifest: V1, code: CODES[0] });
  assert.equal(okV1.public_key, CREDS.credentials[0].public_key_hex);
});

test("worker: a context given ahead serves the encryption; a broken one is refused and dropped", () => {
  const run = (msg) => {
    const out = [];
    respond(msg, (m) => out.push(structuredClone(m)));
    return out;
  };
  const broken = structuredClone(BLANK);
  broken.election.public_key = T.pointHex(T.mulG(5n)); // not the trustees' joint key
  assert.equal(run({ type: "context", manifest: broken })[0].kind, "manifest");
  // Nothing kept from the refused manifest: an encryption without one is refused.
  const none = run({ type: "encrypt", code: CODES[0], choices: [2, 1] });
  assert.equal(none.at(-1).kind, "request");
  assert.deepEqual(run({ type: "context", manifest: BLANK }), [{ type: "context" }]);
  const done = run({ type: "encrypt", code: CODES[0], choices: [2, 1] }).pop();
  assert.equal(done.type, "done");
  T.verifyBallot(BLANK, done.ballot);
  // A slip of another list is still refused with the kept context.
  const other = structuredClone(BLANK);
  other.credential_list = resignedList(other.credential_list, {
    keys: [CREDS.credentials[1].public_key_hex],
    count: 1,
    reserve: 0,
  });
  assert.deepEqual(run({ type: "context", manifest: other }), [{ type: "context" }]);
  assert.equal(run({ type: "encrypt", code: CODES[0], choices: [0, 0] })[0].kind, "not-listed");
});

test("the committed JavaScript vectors are what js_generate.mjs produces now", () => {
  for (const [name, value] of Object.entries(build())) {
    const stored = fs.readFileSync(
      new URL(`../../tests/vectors/js/${name}`, import.meta.url),
      "utf8",
    );
    assert.equal(render(value), stored, `${name} is stale: run node tests/vectors/js_generate.mjs`);
  }
});

const JS_BALLOTS = load("js/js_ballot.json");
const JS_SHARE = load("js/js_share.json");

test("JS vector ballots: verify, challenge, and rebuild from their randomness and nonces", () => {
  assert.deepEqual(JS_BALLOTS.manifests["blank-allowed"], BALLOT.manifest);
  for (const c of JS_BALLOTS.cases) {
    const manifest = JS_BALLOTS.manifests[c.manifest];
    const ctx = T.pollContext(manifest);
    assert.equal(ctx.fingerprintHex, c.fingerprint);
    const v = T.verifyBallot(manifest, c.ballot);
    assert.equal(T.toHex(v.trackingHash), c.tracking_hash);
    assert.equal(T.trackingCode(v.trackingHash), c.tracking_code);
    assert.equal(T.sha256Hex(T.signedBytes(c.ballot)), c.signed_bytes_sha256);
    assert.ok(T.checkChallenge(manifest, c.ballot, c.choices, c.randomness));
    const cred = T.Credential.fromCode(c.credential_code);
    const source = replaySource(c.randomness, c.choice_proof_nonces, c.sum_proof_nonces);
    const { ballot } = T._encryptBallotWith(ctx, cred, c.choices, source);
    assert.equal(T.canonicalJsonText(ballot), T.canonicalJsonText(c.ballot), c.label);
  }
});

test("JS vector share: board, aggregate, shares and counts", () => {
  const manifest = BALLOT.manifest;
  const { ballots, head } = T.readBoard(manifest, JS_SHARE.ballots_jsonl);
  assert.equal(head, JS_SHARE.board_head);
  assert.equal(ballots.length, 2);
  const aggregate = T.aggregateFromBallots(manifest, ballots);
  assert.equal(T.canonicalJsonText(aggregate), T.canonicalJsonText(JS_SHARE.aggregate));
  assert.equal(T.sha256Hex(T.canonicalJson(aggregate)), JS_SHARE.aggregate_sha256);
  const trustees = manifest.election.trustees;
  const partials = JS_SHARE.shares.map((share, t) => T.verifyShare(aggregate, trustees[t], share));
  assert.deepEqual(T.combineShares(aggregate, partials, 2), JS_SHARE.counts);
  // A share checked against the other trustee, or a changed aggregate, is refused.
  assert.throws(() => T.verifyShare(aggregate, trustees[1], JS_SHARE.shares[0]), /another trustee/);
  const changed = structuredClone(aggregate);
  changed.ballot_count = 3;
  assert.throws(
    () => T.verifyShare(changed, trustees[0], JS_SHARE.shares[0]),
    /different aggregate/,
  );
  const badProof = structuredClone(JS_SHARE.shares[0]);
  badProof.shares[1][0].proof.s = badProof.shares[1][0].proof.s.replace(/^./, (d) =>
    d === "0" ? "1" : "0",
  );
  assert.throws(() => T.verifyShare(aggregate, trustees[0], badProof), /does not verify/);
});

test("board reading refuses a broken chain, a wrong index or tracking hash", () => {
  const lines = JS_SHARE.ballots_jsonl.trimEnd().split("\n");
  const entries = lines.map((l) => T.parseJson(l));
  const write = (es) => es.map((e) => T.canonicalJsonText(e) + "\n").join("");
  assert.throws(
    () => T.readBoard(BALLOT.manifest, write([entries[1], entries[0]])),
    /board line 1/,
  );
  const badIndex = structuredClone(entries);
  badIndex[1].index = 3;
  assert.throws(() => T.readBoard(BALLOT.manifest, write(badIndex)), /index/);
  const badChain = structuredClone(entries);
  badChain[0].chain = badChain[1].chain;
  assert.throws(() => T.readBoard(BALLOT.manifest, write(badChain)), /chain/);
  const extra = structuredClone(entries);
  extra[0].note = "x";
  assert.throws(() => T.readBoard(BALLOT.manifest, write(extra)), /exactly/);
  assert.equal(
    T.readBoard(BALLOT.manifest, "").head,
    T.boardHead(BALLOT.poll_context.fingerprint, []),
  );
});
