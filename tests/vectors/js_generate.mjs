// Vectors produced by the JavaScript implementation (js/tally/), checked by the Python verifier
// in tests/test_js_crypto.py and by node in js/test/. They complement the Python vectors of
// generate.py: these show that what the browser makes, tally accepts.
//
//   node tests/vectors/js_generate.mjs           # rewrite js/js_ballot.json and js/js_share.json
//   node tests/vectors/js_generate.mjs --check   # exit 1 if either would change
//
// The output is in tests/vectors/js/, beside rather than among the Python vectors: generate.py
// owns tests/vectors/*.json (tests/test_vectors.py checks that it produces every one of them).
//
// Every random value is fixed, as in generate.py: k = SHA512("tally/v1/test-vector-nonce\0" ‖
// "js/" ‖ label) mod L. The ballots go through the same code path as the booth's encryptBallot
// (_encryptBallotWith), only with this fixed source instead of crypto.getRandomValues; the shares
// through decryptShare with fixed nonces.

import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import {
  Credential,
  credentialCommitment,
  credentialListSignedBytes,
  L,
  _encryptBallotWith,
  _trusteeKeyFromSecret,
  TAG_KEY,
  aggregateFromBallots,
  boardGenesis,
  boardNext,
  canonicalJson,
  concatBytes,
  csProofToJson,
  decryptShare,
  fromHex,
  pollContext,
  proveSchnorr,
  scalarFromHex,
  scalarHex,
  sha256Hex,
  signedBytes,
  toHex,
  trackingCode,
  trackingHash,
  utf8,
} from "../../js/tally/index.js";

const HERE = new URL("./", import.meta.url);
const OUT = new URL("./js/", import.meta.url);
const NONCE_TAG = utf8("tally/v1/test-vector-nonce\0");

export function load(name) {
  return JSON.parse(fs.readFileSync(new URL(name, HERE), "utf8"));
}

/** A fixed, non-zero "random" scalar for a label (the "js/" prefix keeps them apart from Python's). */
export function fixedScalar(label) {
  const digest = sha512(concatBytes(NONCE_TAG, utf8("js/" + label)));
  let k = 0n;
  for (let i = digest.length - 1; i >= 0; i--) k = (k << 8n) | BigInt(digest[i]);
  k %= L;
  if (k === 0n) throw new Error("zero nonce");
  return k;
}

const triple = (label) => ({
  w: fixedScalar(label + "/w"),
  c_sim: fixedScalar(label + "/c_sim"),
  s_sim: fixedScalar(label + "/s_sim"),
});

const tripleHex = (t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, scalarHex(v)]));

/** The randomness source of a vector ballot: fixed scalars, recorded for the JSON file. */
export function fixedSource(label) {
  return {
    r: (i, j) => fixedScalar(`${label}/${i}/${j}/r`),
    choiceNonces: (i, j) => triple(`${label}/${i}/${j}`),
    sumNonces: (i) => triple(`${label}/${i}/sum`),
  };
}

/** A source that replays recorded randomness and nonces (hex), as stored by this file or generate.py. */
export function replaySource(randomness, choiceNonces, sumNonces) {
  const scalars = (obj) =>
    Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, scalarFromHex(v)]));
  return {
    r: (i, j) => scalarFromHex(randomness[i][j]),
    choiceNonces: (i, j) => scalars(choiceNonces[i][j]),
    sumNonces: (i) => scalars(sumNonces[i]),
  };
}

/** 16 fixed bytes as a poll uid (32 lowercase hex digits) for a label. */
export function fixedUid(label) {
  return toHex(sha512(concatBytes(NONCE_TAG, utf8("js/" + label))).slice(0, 16));
}

/**
 * The credential list re-signed for another poll uid by credential_list.json's authority (its
 * seed is in the vector; Ed25519 signatures are deterministic): what the Board would sign.
 */
export function resignedList(list, changes) {
  const seed = fromHex(load("credential_list.json").authority_seed_hex, 32);
  const out = { ...structuredClone(list), ...changes };
  delete out.signature;
  out.signature = toHex(ed25519.sign(credentialListSignedBytes(out), seed));
  return out;
}

/**
 * A version-2 manifest in version 1's form (tally-manifest/1, as tally.manifest.make_manifest_v1
 * writes it): no poll uid, trustees without signing keys, the bare sorted list of keys, the
 * credentials' count and commitment, the number present in the electorate.
 */
export function toVersion1(manifest, { pollId, present, secrets = null }) {
  const m = structuredClone(manifest);
  // A version-1 key's proof has no context (9.1): with the secrets, prove each key afresh.
  const v1Proof = (t, i) =>
    secrets === null
      ? t.proof
      : csProofToJson(
          proveSchnorr(
            scalarFromHex(secrets[i]),
            TAG_KEY,
            new Uint8Array(0),
            fixedScalar(`trustee-v1/${i + 1}/w`),
          ).proof,
        );
  const keys = [...m.credential_list.keys];
  const { poll_uid: _uid, outstanding_groups: _groups, adopts: _adopts, ...rest } = m.election;
  const election = {
    ...rest,
    poll_id: pollId,
    // Version 1's subject: one "disciplined" flag, no self-assessment.
    subjects: rest.subjects.map((s) => ({
      key: s.key,
      name: s.name,
      kind: s.kind,
      role: s.role,
      peer_group: s.peer_group,
      heads: s.heads,
      part_of: s.part_of,
      disciplined: s.discipline.some((f) => f !== "self_remedied"),
    })),
    trustees: rest.trustees.map((t, i) => ({
      format: "tally-trustee-public/1",
      name: t.name,
      public_key: t.public_key,
      proof: v1Proof(t, i),
    })),
    credentials: { count: keys.length, commitment: credentialCommitment(keys) },
    electorate: { members: rest.electorate.members, present },
  };
  return {
    format: "tally-manifest/1",
    election,
    conference: m.conference,
    credentials: keys,
    signer: m.signer,
  };
}

/**
 * ballot.json's manifest (version 2); the same poll made to refuse blanks (so the DLEQ sum proof
 * is used), as another poll: its own uid, its list re-signed for it; and the poll in version 1's
 * form (a poll opened before version 2, which the booth still serves).
 */
export function manifests() {
  const blank = load("ballot.json").manifest;
  const strict = structuredClone(blank);
  const uid = fixedUid("poll/no-blank/uid");
  strict.election.poll_id = "vector-2025-js-no-blank";
  strict.election.poll_uid = uid;
  strict.election.title = "Phiếu biểu quyết thử nghiệm, không được để trống (JS test vector)";
  strict.election.allow_blank = false;
  strict.election.rules.allow_blank = false;
  strict.credential_list = resignedList(blank.credential_list, { poll_uid: uid });
  const secrets = load("ballot.json").trustee_secrets_hex;
  const v1 = toVersion1(blank, { pollId: "vector-2025-js-v1", present: 2, secrets });
  return { "blank-allowed": blank, "no-blank": strict, "v1-blank-allowed": v1 };
}

const CASES = [
  {
    label: "A",
    manifest: "blank-allowed",
    credential: 1, // credentials.json's second slip: ballot.json's ballot used the first
    choices: [null, 0],
    description:
      "ballot.json's poll (blanks allowed), second credential: subject 0 left blank, subject 1" +
      " rated HTXSNV (grade index 0)",
  },
  {
    label: "B",
    manifest: "no-blank",
    credential: 0,
    choices: [0, 2],
    description:
      "the same poll refusing blanks (a DLEQ sum proof per subject), first credential: subject 0" +
      " rated HTXSNV, subject 1 HTNV",
  },
  {
    label: "C",
    manifest: "v1-blank-allowed",
    credential: 1,
    choices: [3, null],
    description:
      "the poll in version 1's form (tally-manifest/1), second credential: subject 0 rated" +
      " KHTNV (grade index 3), subject 1 left blank",
  },
];

function buildBallots() {
  const all = manifests();
  const creds = load("credentials.json").credentials;
  const cases = CASES.map((c) => {
    const manifest = all[c.manifest];
    const ctx = pollContext(manifest);
    const secretHex = creds[c.credential].secret_hex;
    const credential = new Credential(fromHex(secretHex));
    const source = fixedSource(`ballot/${c.label}`);
    const { ballot, randomness } = _encryptBallotWith(ctx, credential, c.choices, source);
    const hash = trackingHash(ballot);
    return {
      label: c.label,
      description: c.description,
      manifest: c.manifest,
      fingerprint: ctx.fingerprintHex,
      credential_secret_hex: secretHex,
      credential_code: credential.code,
      choices: c.choices,
      randomness: randomness.map((rs) => rs.map(scalarHex)),
      choice_proof_nonces: c.choices.map((_, i) =>
        Array.from({ length: ctx.grades }, (__, j) => tripleHex(source.choiceNonces(i, j))),
      ),
      sum_proof_nonces: c.choices.map((_, i) =>
        ctx.allowBlank ? tripleHex(source.sumNonces(i)) : { w: scalarHex(source.sumNonces(i).w) },
      ),
      ballot,
      signed_bytes_sha256: sha256Hex(signedBytes(ballot)),
      tracking_hash: toHex(hash),
      tracking_code: trackingCode(hash),
    };
  });
  return {
    description:
      "Ballots made by the JavaScript booth code (js/tally/, @noble/curves) for the poll of" +
      " ballot.json ('blank-allowed', its tally-manifest/2 unchanged), for the same poll" +
      " refusing blanks ('no-blank': poll_id, poll_uid, title and allow_blank changed, so" +
      " another fingerprint; the credential list re-signed for its uid with" +
      " credential_list.json's authority seed) and for the poll in version 1's form" +
      " ('v1-blank-allowed': tally-manifest/1, as tally.manifest.make_manifest_v1 writes it," +
      " present 2)." +
      " Each case stores the choices, the randomness a Benaloh challenge reveals and every proof" +
      " nonce. Regenerated by tests/vectors/js_generate.mjs; checked by tests/test_js_crypto.py" +
      " (tally verifies them) and js/test/ (JavaScript rebuilds them byte for byte).",
    manifests: all,
    cases,
  };
}

function buildShares(ballotsVector) {
  const manifest = manifests()["blank-allowed"];
  const ctx = pollContext(manifest);
  const python = load("ballot.json");
  const jsCase = ballotsVector.cases.find((c) => c.label === "A");
  const ballots = [python.ballot, jsCase.ballot];
  // ballots.jsonl as the service writes it (13.).
  let head = boardGenesis(ctx.fingerprint);
  const lines = ballots.map((ballot, k) => {
    const tracking = trackingHash(ballot);
    head = boardNext(head, tracking);
    const entry = { index: k + 1, ballot, tracking_hash: toHex(tracking), chain: toHex(head) };
    return new TextDecoder().decode(canonicalJson(entry)) + "\n";
  });
  const aggregate = aggregateFromBallots(manifest, ballots);
  const trustees = manifest.election.trustees;
  const shares = python.trustee_secrets_hex.map((x, t) => {
    const key = _trusteeKeyFromSecret(scalarFromHex(x), trustees[t]);
    return decryptShare(key, aggregate, manifest, {
      _nonce: (i, j) => fixedScalar(`share/${t + 1}/${i}/${j}/w`),
    });
  });
  return {
    description:
      "A board of two ballots for ballot.json's poll (its manifest): ballot.json's own (Python:" +
      " subject 0 HTTNV, subject 1 blank) and js_ballot.json's case A (JavaScript: subject 0" +
      " blank, subject 1 HTXSNV); the aggregate recomputed by JavaScript from the board, and both" +
      " trustees' decryption shares made by JavaScript (secrets from ballot.json, nonces" +
      " fixedScalar('share/<trustee>/<i>/<j>/w')). Combined, the counts and blanks below.",
    manifest: "ballot.json's manifest",
    ballots_jsonl: lines.join(""),
    board_head: toHex(head),
    aggregate,
    aggregate_sha256: sha256Hex(canonicalJson(aggregate)),
    shares,
    share_nonces: shares.map((share, t) =>
      share.shares.map((row, i) =>
        row.map((_, j) => scalarHex(fixedScalar(`share/${t + 1}/${i}/${j}/w`))),
      ),
    ),
    counts: [
      [0, 1, 0, 0],
      [1, 0, 0, 0],
    ],
    blanks: [1, 1],
  };
}

/** Every JS vector file: name -> JSON value. */
export function build() {
  const ballots = buildBallots();
  return { "js_ballot.json": ballots, "js_share.json": buildShares(ballots) };
}

// --- rendering: the layout of generate.py's render(), so the files read alike -------------------

function dumps(value) {
  // Python's json.dumps(value, ensure_ascii=False): ", " and ": " separators.
  if (Array.isArray(value)) return "[" + value.map(dumps).join(", ") + "]";
  if (value !== null && typeof value === "object")
    return (
      "{" +
      Object.entries(value)
        .map(([k, v]) => JSON.stringify(k) + ": " + dumps(v))
        .join(", ") +
      "}"
    );
  return JSON.stringify(value);
}

function renderValue(value, indent, prefix) {
  const flat = dumps(value);
  const container = value !== null && typeof value === "object";
  const empty = container && Object.keys(value).length === 0;
  if (!container || empty || indent + prefix + [...flat].length <= 100) return flat;
  const pad = " ".repeat(indent + 2);
  if (Array.isArray(value)) {
    return (
      "[\n" +
      value.map((v) => pad + renderValue(v, indent + 2, 0)).join(",\n") +
      "\n" +
      " ".repeat(indent) +
      "]"
    );
  }
  const items = Object.entries(value).map(([k, v]) => {
    const key = JSON.stringify(k) + ": ";
    return pad + key + renderValue(v, indent + 2, key.length);
  });
  return "{\n" + items.join(",\n") + "\n" + " ".repeat(indent) + "}";
}

export function render(value) {
  return renderValue(value, 0, 0) + "\n";
}

function main(argv) {
  const check = argv.includes("--check");
  const stale = [];
  for (const [name, value] of Object.entries(build())) {
    const path = new URL(name, OUT);
    const text = render(value);
    if (check) {
      if (!fs.existsSync(path) || fs.readFileSync(path, "utf8") !== text) stale.push(name);
    } else {
      fs.mkdirSync(OUT, { recursive: true });
      fs.writeFileSync(path, text, "utf8");
    }
  }
  if (stale.length) {
    console.error("out of date: " + stale.join(", "));
    return 1;
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  process.exitCode = main(process.argv.slice(2));
}
