// The Python protocol vectors (tests/vectors/*.json) against js/tally/: every value recomputed
// by the JavaScript code equals the stored one, proofs are reproduced byte for byte from their
// stored nonces, and a changed byte is refused.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { sha512 } from "@noble/hashes/sha2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { scrypt } from "@noble/hashes/scrypt.js";
import { gcm } from "@noble/ciphers/aes.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import * as T from "../tally/index.js";

const load = (name) =>
  JSON.parse(fs.readFileSync(new URL(`../../tests/vectors/${name}`, import.meta.url), "utf8"));

/** Change one hex digit (one byte of the encoded value), keeping lowercase hex. */
export function flip(hex, position = 0) {
  const digit = hex[position];
  return hex.slice(0, position) + (digit === "0" ? "1" : "0") + hex.slice(position + 1);
}

const u32 = T.u32;
const hex = T.toHex;
const bytes = (h) => T.fromHex(h);
const scalars = (obj) =>
  Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, T.scalarFromHex(v)]));

// --- hash_to_scalar ------------------------------------------------------------------------------

const H2S = load("hash_to_scalar.json");

test("hash_to_scalar: preimage, SHA-512 and scalar of every case", () => {
  for (const c of H2S.cases) {
    const parts = c.parts_hex.map(bytes);
    const preimage = T.hashToScalarPreimage(c.tag, ...parts);
    assert.equal(hex(preimage), c.preimage_hex, c.tag);
    assert.equal(hex(sha512(preimage)), c.sha512_hex);
    assert.equal(T.scalarHex(T.hashToScalar(c.tag, ...parts)), c.scalar_hex);
  }
  const split = H2S.cases.filter((c) => c.tag === "tally/v1/example").map((c) => c.scalar_hex);
  assert.notEqual(split[0], split[1]); // ["a","bc"] and ["ab","c"]
});

// --- points and scalars --------------------------------------------------------------------------

const POINTS = load("points.json");

test("group constants", () => {
  assert.equal(BigInt(POINTS.L), T.L);
  assert.equal(T.pointHex(T.G), POINTS.base_point);
  assert.equal(T.pointHex(T.IDENTITY), POINTS.identity);
  assert.ok(T.pointFromHex(POINTS.identity).is0());
  assert.ok(T.pointFromHex(POINTS.base_point).equals(T.G));
  assert.ok(T.mul(T.G, T.L).is0());
  assert.ok(T.G.subtract(T.G).is0());
  assert.equal(T.pointHex(T.G.add(T.G.negate())), POINTS.identity);
});

test("valid points decode, re-encode and are k·G", () => {
  for (const c of POINTS.valid_points) {
    const P = T.pointFromHex(c.hex);
    assert.equal(T.pointHex(P), c.hex, c.description);
    assert.equal(T.pointHex(T.mulG(T.scalarFromHex(c.scalar_hex))), c.hex, c.description);
  }
});

test("invalid points are refused, as hex and as bytes", () => {
  for (const c of POINTS.invalid_points) {
    assert.throws(() => T.pointFromHex(c.hex), T.TallyError, c.reason);
    if (/^[0-9a-f]{64}$/.test(c.hex))
      assert.throws(() => T.decodePoint(bytes(c.hex)), T.TallyError, c.reason);
  }
  assert.throws(() => T.pointFromHex(123), T.TallyError);
  assert.throws(() => T.decodePoint(new Uint8Array(31)), T.TallyError);
});

test("scalars: valid ones round-trip, invalid ones are refused", () => {
  for (const c of POINTS.valid_scalars) {
    assert.equal(T.scalarFromHex(c.hex), BigInt(c.value));
    assert.equal(T.scalarHex(BigInt(c.value)), c.hex);
  }
  for (const c of POINTS.invalid_scalars)
    assert.throws(() => T.scalarFromHex(c.hex), T.TallyError, c.reason);
  assert.throws(() => T.encodeScalar(T.L), T.TallyError);
  assert.throws(() => T.encodeScalar(-1n), T.TallyError);
});

test("the identity: k ≡ 0, sums and differences (2.3)", () => {
  const P = T.mulG(7n);
  assert.ok(T.mul(P, 0n).is0());
  assert.ok(T.mul(P, T.L).is0());
  assert.ok(T.mul(T.IDENTITY, 5n).is0());
  assert.ok(T.mulG(0n).is0());
  assert.ok(P.add(T.IDENTITY).equals(P));
  assert.ok(T.IDENTITY.add(P).equals(P));
  assert.ok(P.subtract(T.IDENTITY).equals(P));
  assert.ok(P.subtract(P).is0());
  assert.ok(T.mul(P, T.L + 3n).equals(T.mul(P, 3n)));
  assert.ok(T.mul(P, -1n).equals(P.negate()));
  const ct = T.encrypt(T.mulG(11n), 0, 0n);
  assert.equal(T.pointHex(ct.a), POINTS.identity);
  assert.equal(T.pointHex(ct.b), POINTS.identity);
});

test("random scalars are in [1, L)", () => {
  for (let i = 0; i < 50; i++) {
    const k = T.randomScalar();
    assert.ok(k > 0n && k < T.L);
  }
});

// --- credentials ---------------------------------------------------------------------------------

const CREDS = load("credentials.json");

test("credential: secret -> code -> HKDF seed -> public key -> signature", () => {
  assert.equal(CREDS.hkdf.info, "tally/v1/credential-signing-key");
  for (const c of CREDS.credentials) {
    const secret = bytes(c.secret_hex);
    assert.equal(
      hex(hkdf(sha256, secret, undefined, T.utf8(CREDS.hkdf.info), CREDS.hkdf.length)),
      c.ed25519_seed_hex,
    );
    assert.equal(hex(T._credentialSeed(secret)), c.ed25519_seed_hex);
    const cred = new T.Credential(secret);
    assert.equal(cred.code, c.code);
    assert.equal(cred.publicKeyHex, c.public_key_hex);
    assert.equal(T.Credential.fromCode(c.code).publicKeyHex, c.public_key_hex);
    assert.equal(T.credentialPublicKey(c.code), c.public_key_hex);
    const message = bytes(c.example_message_hex);
    const signature = cred.sign(message);
    assert.equal(hex(signature), c.example_signature_hex); // Ed25519 is deterministic
    assert.ok(T.verifySignature(cred.publicKey, signature, message));
    assert.ok(!T.verifySignature(cred.publicKey, bytes(flip(c.example_signature_hex)), message));
    assert.ok(!T.verifySignature(cred.publicKey, signature, T.concatBytes(message, T.utf8("x"))));
    // The secret is never a property: JSON and keys show the public key only.
    assert.equal(JSON.stringify(cred), JSON.stringify({ public_key: c.public_key_hex }));
    assert.ok(!JSON.stringify(Object.entries(cred)).includes(c.secret_hex));
  }
});

test("credential codes: accepted and refused inputs (10.1)", () => {
  const first = CREDS.credentials[0];
  for (const c of CREDS.accepted_code_inputs) {
    assert.equal(c.secret_hex, first.secret_hex);
    assert.equal(hex(T.parseCredentialCode(c.input)), first.secret_hex, c.input);
    assert.equal(T.credentialPublicKey(c.input), first.public_key_hex);
  }
  // Tabs are removed too.
  assert.equal(T.credentialPublicKey(first.code.replaceAll("-", "\t")), first.public_key_hex);
  for (const c of CREDS.rejected_code_inputs) {
    assert.throws(
      () => T.Credential.fromCode(c.input),
      (e) => e instanceof T.TallyError && e.code === "code",
      c.reason,
    );
  }
  for (const bad of [
    "",
    "AAAQ-EAYE-AUDA-OCAJ-BIFQ-YDIO-B4A",
    "AAAQ-EAYE-AUDA-OCAJ-BIFQ-YDIO-B=",
    "AAAQ_EAYE-AUDA-OCAJ-BIFQ-YDIO-B4",
  ])
    assert.throws(() => T.Credential.fromCode(bad), T.TallyError, bad);
  assert.throws(() => T.Credential.fromCode(null), T.TallyError);
});

test("errors about a code never contain the code", () => {
  const code = CREDS.credentials[0].code.replace("B4", "B5");
  try {
    T.Credential.fromCode(code);
    assert.fail("accepted");
  } catch (e) {
    assert.ok(!e.message.includes(code) && !e.message.includes(code.replaceAll("-", "")));
  }
});

test("credential commitment (10.4)", () => {
  const c = CREDS.commitment;
  assert.equal(hex(T.utf8("tally/v1/credential-set\0")), c.tag_hex);
  assert.equal(T.credentialCommitment(c.public_keys_hex), c.commitment_hex);
  assert.equal(T.credentialCommitment([...c.public_keys_hex].reverse()), c.commitment_hex);
  assert.notEqual(T.credentialCommitment(c.public_keys_hex.slice(0, 1)), c.commitment_hex);
});

test("Ed25519 verification follows OpenSSL: S < L, cofactorless, small-order keys not refused (10.3)", () => {
  const c = CREDS.credentials[0];
  const msg = bytes(c.example_message_hex);
  const sig = bytes(c.example_signature_hex);
  // S + L encodes the same residue: refused.
  const S = BigInt("0x" + hex(sig.slice(32).reverse()));
  const high = (S + T.L).toString(16).padStart(64, "0");
  const sigHigh = T.concatBytes(sig.slice(0, 32), bytes(high).reverse());
  assert.ok(!T.verifySignature(bytes(c.public_key_hex), sigHigh, msg));
  // With the identity as public key, R = identity and S = 0 verify for every message (10.3, 19).
  const identity = bytes(POINTS.identity);
  const trivial = T.concatBytes(identity, new Uint8Array(32));
  assert.ok(T.verifySignature(identity, trivial, msg));
  assert.ok(!T.verifySignature(new Uint8Array(31), trivial, msg));
});

// --- Schnorr -------------------------------------------------------------------------------------

const SCHNORR = load("schnorr.json");

test("Schnorr: reproduced from its nonce, verified, a changed byte fails", () => {
  const x = T.scalarFromHex(SCHNORR.x_hex);
  const ctx = bytes(SCHNORR.context_hex);
  const { proof, X, U } = T.proveSchnorr(x, SCHNORR.tag, ctx, T.scalarFromHex(SCHNORR.w_hex));
  assert.equal(T.pointHex(X), SCHNORR.public_key);
  assert.equal(T.pointHex(U), SCHNORR.commitment_U);
  assert.deepEqual(T.csProofToJson(proof), SCHNORR.proof);
  const parsed = T.csProofFromJson(SCHNORR.proof);
  assert.ok(T.verifySchnorr(X, parsed, SCHNORR.tag, ctx));
  for (const f of ["c", "s"])
    assert.ok(
      !T.verifySchnorr(
        X,
        T.csProofFromJson({ ...SCHNORR.proof, [f]: flip(SCHNORR.proof[f]) }),
        SCHNORR.tag,
        ctx,
      ),
      f,
    );
  assert.ok(!T.verifySchnorr(X.add(T.G), parsed, SCHNORR.tag, ctx));
  assert.ok(!T.verifySchnorr(X, parsed, SCHNORR.tag, T.utf8("x")));
  const pub = T.parseTrusteePublic(SCHNORR.trustee_public);
  assert.equal(pub.publicKeyHex, SCHNORR.public_key);
  // tally-trustee-public/2: the same fields and the signing key (a valid Ed25519 key).
  assert.equal(SCHNORR.trustee_public.format, T.PUBLIC_FORMAT_V2);
  assert.equal(pub.signingKeyHex, SCHNORR.trustee_public.signing_key);
  // Its proof binds the signing key and the name: dropped into the /1 form (no context), or
  // paired with another signing key, it no longer verifies.
  const { signing_key: _s, ...v1Fields } = SCHNORR.trustee_public;
  assert.throws(
    () => T.parseTrusteePublic({ ...v1Fields, format: T.PUBLIC_FORMAT }),
    /proof of knowledge/,
  );
  const other = load("trustee_key.json").key_file_v1.public;
  const v1 = T.parseTrusteePublic(other);
  assert.equal(v1.signingKeyHex, null);
  assert.equal(v1.publicKeyHex, pub.publicKeyHex);
  const sk = SCHNORR.trustee_public.signing_key;
  for (const bad of [undefined, 1, sk.toUpperCase(), sk.slice(2), "01" + "00".repeat(31)])
    assert.throws(
      () => T.parseTrusteePublic({ ...SCHNORR.trustee_public, signing_key: bad }),
      (e) => e instanceof T.TallyError && /signing_key/.test(e.message),
      String(bad),
    );
  assert.throws(
    () => T.parseTrusteePublic({ ...SCHNORR.trustee_public, format: "tally-trustee-public/3" }),
    T.TallyError,
  );
  assert.throws(
    () =>
      T.parseTrusteePublic({
        ...SCHNORR.trustee_public,
        proof: { ...SCHNORR.proof, s: flip(SCHNORR.proof.s) },
      }),
    T.TallyError,
  );
  assert.throws(
    () => T.parseTrusteePublic({ ...SCHNORR.trustee_public, name: "  " }),
    T.TallyError,
  );
  assert.throws(() => T.csProofFromJson({ ...SCHNORR.proof, x: "00" }), T.TallyError);
});

// --- DLEQ ----------------------------------------------------------------------------------------

const DLEQ = load("dleq.json");

test("DLEQ: both cases reproduced from their nonces, verified, a changed byte fails", () => {
  for (const c of DLEQ.cases) {
    const ctx = bytes(c.context_hex);
    const H = T.pointFromHex(c.H);
    const { proof, X, Z, U, V } = T.proveDleq(
      T.scalarFromHex(c.x_hex),
      H,
      c.tag,
      ctx,
      T.scalarFromHex(c.w_hex),
    );
    assert.equal(T.pointHex(X), c.X);
    assert.equal(T.pointHex(Z), c.Z);
    assert.equal(T.pointHex(U), c.commitments.U);
    assert.equal(T.pointHex(V), c.commitments.V);
    assert.deepEqual(T.csProofToJson(proof), c.proof);
    const Xp = T.pointFromHex(c.X);
    const Zp = T.pointFromHex(c.Z);
    assert.ok(T.verifyDleq(H, Xp, Zp, T.csProofFromJson(c.proof), c.tag, ctx));
    for (const f of ["c", "s"])
      assert.ok(
        !T.verifyDleq(
          H,
          Xp,
          Zp,
          T.csProofFromJson({ ...c.proof, [f]: flip(c.proof[f]) }),
          c.tag,
          ctx,
        ),
      );
    assert.ok(!T.verifyDleq(H, Xp, Zp.add(T.G), T.csProofFromJson(c.proof), c.tag, ctx));
    assert.ok(!T.verifyDleq(H.add(T.G), Xp, Zp, T.csProofFromJson(c.proof), c.tag, ctx));
    assert.ok(!T.verifyDleq(H, Xp, Zp, T.csProofFromJson(c.proof), c.tag + "x", ctx));
    if (c.sum_ciphertext) {
      // Sum of exactly 1: H = Y, X = A, Z = B − G.
      const total = T.ciphertextFromJson(c.sum_ciphertext);
      assert.ok(total.a.equals(Xp));
      assert.ok(total.b.subtract(T.G).equals(Zp));
    }
  }
});

// --- 0/1 -----------------------------------------------------------------------------------------

const ZO = load("zero_one.json");

test("0/1 proofs: ciphertext, commitments, challenge and proof reproduced byte for byte", () => {
  for (const c of ZO.cases) {
    const Y = T.pointFromHex(c.public_key);
    const r = T.scalarFromHex(c.r_hex);
    const ct = T.encrypt(Y, c.m, r);
    assert.deepEqual(T.ciphertextToJson(ct), c.ciphertext);
    const k = c.context;
    const ctx = T.concatBytes(
      bytes(k.fingerprint),
      bytes(k.credential),
      u32(k.subject),
      u32(k.grade),
    );
    assert.equal(hex(ctx), c.context_hex);
    const { proof, commitments, challenge } = T.proveZeroOne(
      Y,
      ct,
      c.m,
      r,
      c.tag,
      ctx,
      scalars(c.nonces),
    );
    assert.deepEqual(
      commitments.map(T.pointHex),
      ["A0", "B0", "A1", "B1"].map((n) => c.commitments[n]),
    );
    assert.equal(T.scalarHex(challenge), c.challenge_hex);
    assert.deepEqual(T.zeroOneProofToJson(proof), c.proof);
    // The verifier's commitments (7.3 equations) are the prover's.
    const parsed = T.zeroOneProofFromJson(c.proof);
    const ctp = T.ciphertextFromJson(c.ciphertext);
    assert.deepEqual(
      T.zeroOneCommitments(Y, ctp, parsed).map(T.pointHex),
      commitments.map(T.pointHex),
    );
    assert.ok(T.verifyZeroOne(Y, ctp, parsed, c.tag, ctx));
  }
});

test("0/1 proofs: a changed byte, point, key, tag or grade fails", () => {
  for (const c of ZO.cases) {
    const Y = T.pointFromHex(c.public_key);
    const ct = T.ciphertextFromJson(c.ciphertext);
    const ctx = bytes(c.context_hex);
    for (const f of ["c0", "c1", "s0", "s1"])
      assert.ok(
        !T.verifyZeroOne(
          Y,
          ct,
          T.zeroOneProofFromJson({ ...c.proof, [f]: flip(c.proof[f]) }),
          c.tag,
          ctx,
        ),
        f,
      );
    const proof = T.zeroOneProofFromJson(c.proof);
    assert.ok(!T.verifyZeroOne(Y, { a: ct.a, b: ct.b.add(T.G) }, proof, c.tag, ctx));
    assert.ok(!T.verifyZeroOne(Y, { a: ct.a.add(T.G), b: ct.b }, proof, c.tag, ctx));
    assert.ok(!T.verifyZeroOne(Y.add(T.G), ct, proof, c.tag, ctx));
    assert.ok(!T.verifyZeroOne(Y, ct, proof, T.TAG_SUM_ZERO_ONE, ctx));
    const other = T.concatBytes(ctx.slice(0, -4), u32(c.context.grade + 1));
    assert.ok(!T.verifyZeroOne(Y, ct, proof, c.tag, other));
  }
  const c = ZO.cases[0];
  assert.throws(
    () => T.zeroOneProofFromJson({ c0: c.proof.c0, c1: c.proof.c1, s0: c.proof.s0 }),
    T.TallyError,
  );
  assert.throws(
    () => T.zeroOneProofFromJson({ ...c.proof, c0: c.proof.c0.toUpperCase() }),
    T.TallyError,
  );
});

// --- canonical JSON ------------------------------------------------------------------------------

const CANON = load("canonical_json.json");

test("canonical JSON: every case, byte for byte, and idempotent", () => {
  for (const c of CANON.cases) {
    const out = T.canonicalJson(T.parseJson(c.input_json));
    assert.equal(hex(out), c.canonical_hex, c.description);
    assert.equal(new TextDecoder().decode(out), c.canonical);
    assert.equal(T.sha256Hex(out), c.sha256);
    assert.equal(hex(T.canonicalJson(T.parseJson(new TextDecoder().decode(out)))), c.canonical_hex);
    if (!c.input_json.includes("9007199254740993")) {
      // The browser's own JSON.parse gives the same bytes (no integer beyond 2^53 involved).
      assert.equal(hex(T.canonicalJson(JSON.parse(c.input_json))), c.canonical_hex, c.description);
    }
  }
});

test("canonical JSON: the refused inputs", () => {
  for (const c of CANON.rejected) {
    assert.throws(() => T.canonicalJson(T.parseJson(c.input_json)), T.TallyError, c.reason);
  }
  for (const bad of [
    1.5,
    NaN,
    Infinity,
    2 ** 53,
    undefined,
    () => 1,
    new Date(0),
    new Uint8Array(2),
    Symbol("x"),
  ]) {
    assert.throws(() => T.canonicalJson({ v: bad }), T.TallyError, String(bad));
  }
  assert.throws(() => T.canonicalJson({ ["\ud800"]: 1 }), T.TallyError);
  assert.equal(new TextDecoder().decode(T.canonicalJson(9007199254740993n)), "9007199254740993");
  assert.equal(new TextDecoder().decode(T.canonicalJson(-0)), "0");
  let deep = [];
  for (let i = 0; i < 32; i++) deep = [deep];
  T.canonicalJson(deep); // 33 levels, as tally accepts
  assert.throws(() => T.canonicalJson([deep]), T.TallyError);
});

test("canonical JSON: key order by code point, escapes as tally writes them", () => {
  const text = (v) => T.canonicalJsonText(v);
  assert.equal(text({ "\u{1F600}": 1, "\uFF01": 2 }), '{"\uFF01":2,"\u{1F600}":1}');
  assert.deepEqual(["\u{1F600}", "\uFF01"].sort(), ["\u{1F600}", "\uFF01"]); // JS's own order differs
  assert.equal(
    text('\u0000\u001f\u007f\u2028/"\\\b\f\n\r\t'),
    '"\\u0000\\u001f\u007f\u2028/\\"\\\\\\b\\f\\n\\r\\t"',
  );
  assert.equal(text({ b: [true, false, null], a: -12 }), '{"a":-12,"b":[true,false,null]}');
  assert.equal(text({ __proto__: null, z: 1, y: 2 }), '{"y":2,"z":1}');
});

test("parseJson: strict, like tally.canonical.parse_json", () => {
  assert.throws(() => T.parseJson('{"a":1,"a":2}'), T.TallyError);
  assert.throws(() => T.parseJson("[1,]"), T.TallyError);
  assert.throws(() => T.parseJson("[NaN]"), T.TallyError);
  assert.throws(() => T.parseJson('"\u0001"'), T.TallyError);
  assert.throws(() => T.parseJson("01"), T.TallyError);
  assert.throws(() => T.parseJson("{} x"), T.TallyError);
  assert.ok(T.parseJson("1e3") instanceof T.JsonFloat);
  assert.ok(T.parseJson("1.0") instanceof T.JsonFloat);
  assert.equal(T.parseJson("-9007199254740993"), -9007199254740993n);
  const proto = T.parseJson('{"__proto__": {"x": 1}}');
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.deepEqual(Object.keys(proto), ["__proto__"]);
  assert.equal(T.canonicalJsonText(proto), '{"__proto__":{"x":1}}');
  assert.deepEqual(T.parseJson(' {"a" : [1, "\\u00e9\\ud83d\\ude00", true, null]} '), {
    a: [1, "é😀", true, null],
  });
});

// --- the complete ballot -------------------------------------------------------------------------

const BALLOT = load("ballot.json");
const CLIST = load("credential_list.json");

test("ballot: the poll context comes from the manifest", () => {
  const ctx = T.pollContext(BALLOT.manifest);
  const stored = BALLOT.poll_context;
  assert.equal(ctx.fingerprintHex, stored.fingerprint);
  assert.equal(T.sha256Hex(T.canonicalJson(BALLOT.manifest.election)), stored.fingerprint);
  assert.equal(T.pointHex(ctx.publicKey), stored.public_key);
  assert.deepEqual(
    [ctx.subjects, ctx.grades, ctx.allowBlank],
    [stored.subjects, stored.grades, stored.allow_blank],
  );
  const keys = BALLOT.trustee_secrets_hex.map((x) => T.pointHex(T.mulG(T.scalarFromHex(x))));
  assert.deepEqual(
    keys,
    BALLOT.manifest.election.trustees.map((t) => t.public_key),
  );
  const cred = new T.Credential(bytes(BALLOT.credential_secret_hex));
  // tally-manifest/2: the keys are the authority's signed list, committed in the election.
  assert.equal(BALLOT.manifest.format, T.MANIFEST_FORMAT);
  const listed = BALLOT.manifest.credential_list.keys;
  assert.ok(listed.includes(cred.publicKeyHex));
  assert.deepEqual(ctx.credentials, listed);
  assert.equal(ctx.pollUid, BALLOT.manifest.election.poll_uid);
  const committed = BALLOT.manifest.election.credentials;
  assert.equal(T.credentialCommitment(listed), committed.commitment);
  assert.equal(committed.count, listed.length);
  assert.equal(committed.authority, BALLOT.manifest.credential_list.authority);
  assert.deepEqual(BALLOT.manifest.credential_list, CLIST.list);
  // The trustees' signing keys derive from their secrets.
  BALLOT.trustee_secrets_hex.forEach((x, t) => {
    const trustee = BALLOT.manifest.election.trustees[t];
    const key = T._trusteeKeyFromSecret(T.scalarFromHex(x), trustee);
    assert.equal(key.signingKeyHex, trustee.signing_key);
  });
});

test("ballot: the Python ballot verifies; tracking hash, code and signed bytes match", () => {
  const ballot = BALLOT.ballot;
  const v = T.verifyBallot(BALLOT.manifest, ballot);
  assert.equal(hex(v.trackingHash), BALLOT.tracking_hash);
  assert.equal(v.credential, ballot.credential);
  assert.equal(T.trackingCode(v.trackingHash), BALLOT.tracking_code);
  assert.equal(T.trackingCode(BALLOT.tracking_hash), BALLOT.tracking_code);
  const signed = T.signedBytes(ballot);
  assert.equal(hex(signed.slice(0, 26)), BALLOT.signed_bytes_prefix_hex);
  assert.equal(T.sha256Hex(signed), BALLOT.signed_bytes_sha256);
  // Key order in the object does not matter: the tracking hash is over the parsed value.
  const reordered = Object.fromEntries(Object.entries(ballot).reverse());
  assert.equal(hex(T.trackingHash(reordered)), BALLOT.tracking_hash);
});

function replaySource(secrets) {
  return {
    r: (i, j) => T.scalarFromHex(secrets[i].randomness[j]),
    choiceNonces: (i, j) => scalars(secrets[i].choice_proof_nonces[j]),
    sumNonces: (i) => scalars(secrets[i].sum_proof_nonces),
  };
}

test("ballot: rebuilt byte for byte from its stored randomness and nonces", () => {
  const ctx = T.pollContext(BALLOT.manifest);
  const cred = new T.Credential(bytes(BALLOT.credential_secret_hex));
  const choices = BALLOT.secrets.map((s) => s.choice);
  assert.deepEqual(choices, [1, null]);
  const progress = [];
  const { ballot, randomness } = T._encryptBallotWith(
    ctx,
    cred,
    choices,
    replaySource(BALLOT.secrets),
    (p) => progress.push(p),
  );
  assert.equal(T.canonicalJsonText(ballot), T.canonicalJsonText(BALLOT.ballot));
  assert.deepEqual(Object.keys(ballot), ["format", "poll", "credential", "answers", "signature"]);
  assert.deepEqual(
    randomness.map((rs) => rs.map(T.scalarHex)),
    BALLOT.secrets.map((s) => s.randomness),
  );
  assert.deepEqual(progress, [
    { done: 0, total: 2 },
    { done: 1, total: 2 },
    { done: 2, total: 2 },
  ]);
  BALLOT.secrets.forEach((s, i) => {
    let total = T.ZERO_CIPHERTEXT;
    for (const item of ballot.answers[i].choices)
      total = T.addCiphertexts(total, T.ciphertextFromJson(item));
    assert.deepEqual(T.ciphertextToJson(total), s.sum);
    const rSum = T.modL(s.randomness.map(T.scalarFromHex).reduce((a, b) => a + b, 0n));
    assert.equal(T.scalarHex(rSum), s.sum_randomness);
  });
});

test("ballot: the Benaloh challenge (12.6)", () => {
  const rs = BALLOT.secrets.map((s) => s.randomness);
  assert.ok(T.checkChallenge(BALLOT.manifest, BALLOT.ballot, [1, null], rs));
  assert.ok(!T.checkChallenge(BALLOT.manifest, BALLOT.ballot, [2, null], rs));
  assert.ok(!T.checkChallenge(BALLOT.manifest, BALLOT.ballot, [1, 0], rs));
  assert.ok(!T.checkChallenge(BALLOT.manifest, BALLOT.ballot, [1, 4], rs)); // out of range
  assert.ok(!T.checkChallenge(BALLOT.manifest, BALLOT.ballot, [1], rs));
  const changed = structuredClone(rs);
  changed[1][2] = flip(changed[1][2], 2);
  assert.ok(!T.checkChallenge(BALLOT.manifest, BALLOT.ballot, [1, null], changed));
  changed[1][2] = "zz";
  assert.ok(!T.checkChallenge(BALLOT.manifest, BALLOT.ballot, [1, null], changed));
  const strict = T.makeContext({ ...T.pollContext(BALLOT.manifest), allowBlank: false });
  assert.ok(!T.checkChallenge(strict, BALLOT.ballot, [1, null], rs)); // a blank where none is allowed
});

function hexLeaves(value, path = []) {
  if (Array.isArray(value)) return value.flatMap((v, i) => hexLeaves(v, [...path, i]));
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => hexLeaves(v, [...path, k]));
  return typeof value === "string" && /^[0-9a-f]+$/.test(value) ? [path] : [];
}

const getPath = (obj, path) => path.reduce((o, k) => o[k], obj);
function setPath(obj, path, value) {
  getPath(obj, path.slice(0, -1))[path[path.length - 1]] = value;
}

test("ballot: every changed hex value fails, also when re-signed by the slip", () => {
  const ctx = T.pollContext(BALLOT.manifest);
  const cred = new T.Credential(bytes(BALLOT.credential_secret_hex));
  const leaves = hexLeaves(BALLOT.ballot);
  assert.equal(leaves.length, 2 * (4 * 6 + 4) + 3);
  for (const path of leaves) {
    const ballot = structuredClone(BALLOT.ballot);
    setPath(ballot, path, flip(getPath(ballot, path)));
    assert.throws(
      () => T.verifyBallot(ctx, ballot),
      (e) => e instanceof T.TallyError && e.code === "ballot",
      path.join("."),
    );
    if (path[0] === "answers") {
      ballot.signature = hex(cred.sign(T.signedBytes(ballot)));
      assert.throws(() => T.verifyBallot(ctx, ballot), /proof|point|scalar/, path.join("."));
    }
  }
});

test("ballot: proofs bind subject, grade, credential, blank rule and poll", () => {
  const ctx = T.pollContext(BALLOT.manifest);
  const cred = new T.Credential(bytes(BALLOT.credential_secret_hex));
  const resign = (b, c = cred) => {
    b.credential = c.publicKeyHex;
    b.signature = hex(c.sign(T.signedBytes(b)));
    return b;
  };
  const swapped = structuredClone(BALLOT.ballot);
  swapped.answers.reverse();
  assert.throws(() => T.verifyBallot(ctx, resign(swapped)), /proof/);
  const reordered = structuredClone(BALLOT.ballot);
  reordered.answers[0].choices.reverse();
  assert.throws(() => T.verifyBallot(ctx, resign(reordered)), /proof/);
  const other = new T.Credential(bytes(CREDS.credentials[1].secret_hex));
  assert.throws(() => T.verifyBallot(ctx, resign(structuredClone(BALLOT.ballot), other)), /proof/);
  const strict = T.makeContext({ ...ctx, allowBlank: false });
  assert.throws(() => T.verifyBallot(strict, BALLOT.ballot), T.TallyError);
  const elsewhere = T.makeContext({ ...ctx, fingerprint: new Uint8Array(32) });
  assert.throws(() => T.verifyBallot(elsewhere, BALLOT.ballot), /another poll/);
  // Structure: extra or missing fields, wrong format, uppercase hex.
  assert.throws(() => T.verifyBallot(ctx, { ...BALLOT.ballot, extra: 1 }), /exactly the fields/);
  assert.throws(
    () => T.verifyBallot(ctx, { ...BALLOT.ballot, format: "tally-ballot/2" }),
    /format/,
  );
  assert.throws(
    () =>
      T.verifyBallot(ctx, { ...BALLOT.ballot, signature: BALLOT.ballot.signature.toUpperCase() }),
    /lowercase hex/,
  );
  assert.throws(() => T.verifyBallot(ctx, []), /JSON object/);
});

// --- board ---------------------------------------------------------------------------------------

const BOARD = load("board.json");

test("board: genesis, chain and head (13.)", () => {
  assert.equal(hex(T.utf8("tally/v1/board\0")), BOARD.tag_hex);
  assert.equal(BOARD.fingerprint, BALLOT.poll_context.fingerprint);
  assert.equal(BOARD.entries[0].tracking_hash, BALLOT.tracking_hash);
  assert.equal(hex(T.boardGenesis(BOARD.fingerprint)), BOARD.genesis);
  assert.equal(T.boardHead(BOARD.fingerprint, []), BOARD.genesis);
  let head = T.boardGenesis(bytes(BOARD.fingerprint));
  BOARD.entries.forEach((e, n) => {
    assert.equal(e.index, n + 1);
    head = T.boardNext(head, bytes(e.tracking_hash));
    assert.equal(hex(head), e.chain);
  });
  const hashes = BOARD.entries.map((e) => e.tracking_hash);
  assert.equal(T.boardHead(BOARD.fingerprint, hashes), BOARD.head);
  assert.equal(T.boardHead(bytes(BOARD.fingerprint), hashes.map(bytes)), BOARD.head);
  assert.notEqual(T.boardHead(BOARD.fingerprint, hashes.slice(0, 2)), BOARD.head);
  assert.notEqual(T.boardHead(BOARD.fingerprint, [hashes[1], hashes[0], hashes[2]]), BOARD.head);
});

// --- the encrypted trustee key file --------------------------------------------------------------

const TKEY = load("trustee_key.json");

test("trustee key file: decrypts by the documented steps and opens with its passphrase", async () => {
  const kf = TKEY.key_file;
  const key = scrypt(T.utf8(TKEY.passphrase), bytes(kf.kdf.salt), {
    N: kf.kdf.n,
    r: kf.kdf.r,
    p: kf.kdf.p,
    dkLen: 32,
  });
  assert.equal(hex(key), TKEY.scrypt_key_hex);
  const plain = gcm(key, bytes(kf.cipher.nonce), T.canonicalJson(kf.public)).decrypt(
    bytes(kf.cipher.ciphertext),
  );
  assert.equal(hex(plain), TKEY.x_hex);
  const progress = [];
  const opened = await T.openTrusteeKey(kf, TKEY.passphrase, {
    onProgress: (f) => progress.push(f),
  });
  assert.equal(opened.publicKeyHex, kf.public.public_key);
  assert.equal(opened.name, kf.public.name);
  assert.deepEqual(opened.public, SCHNORR.trustee_public);
  assert.equal(opened.signingKeyHex, kf.public.signing_key);
  assert.ok(progress.length > 0 && progress[progress.length - 1] === 1);
  // The secret never shows in JSON or in the object's own properties.
  assert.ok(!JSON.stringify(opened).includes(TKEY.x_hex));
  assert.deepEqual(Object.keys(opened).sort(), [
    "name",
    "public",
    "publicKey",
    "publicKeyHex",
    "signingKeyHex",
  ]);
  // The file's text opens the same way.
  const again = await T.openTrusteeKey(JSON.stringify(kf), TKEY.passphrase);
  assert.equal(again.publicKeyHex, opened.publicKeyHex);
  // The version-1 public form: the same scrypt key (same salt), its own nonce; the opened key
  // has the signing key derived from the secret.
  const kf1 = TKEY.key_file_v1;
  assert.deepEqual(kf1.kdf, kf.kdf);
  const plain1 = gcm(key, bytes(kf1.cipher.nonce), T.canonicalJson(kf1.public)).decrypt(
    bytes(kf1.cipher.ciphertext),
  );
  assert.equal(hex(plain1), TKEY.x_hex);
  const opened1 = await T.openTrusteeKey(kf1, TKEY.passphrase);
  assert.equal(opened1.publicKeyHex, opened.publicKeyHex);
  assert.equal(opened1.signingKeyHex, opened.signingKeyHex);
  assert.deepEqual(opened1.public, kf1.public);
});

test("trustee key file: wrong passphrase, changed public part or ciphertext, bad bounds are refused", async () => {
  const kf = TKEY.key_file;
  const refused = async (file, pass, pattern) => {
    await assert.rejects(T.openTrusteeKey(file, pass), (e) => {
      assert.ok(e instanceof T.TallyError);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes(pass));
      return true;
    });
  };
  await refused(kf, TKEY.passphrase + "!", /passphrase/);
  const renamed = structuredClone(kf);
  renamed.public.name = "Người khác"; // its proof binds the name (9.1); the AEAD would too
  await refused(renamed, TKEY.passphrase, /proof of knowledge|altered/);
  const damaged = structuredClone(kf);
  damaged.cipher.ciphertext = flip(damaged.cipher.ciphertext);
  await refused(damaged, TKEY.passphrase, /altered/);
  for (const [field, value] of [
    ["n", 2 ** 21],
    ["n", 2 ** 13],
    ["r", 17],
    ["r", 0],
    ["p", 2],
    ["name", "pbkdf2"],
  ]) {
    const bad = structuredClone(kf);
    bad.kdf[field] = value;
    await refused(bad, TKEY.passphrase, /unsupported/);
  }
  const cipher = structuredClone(kf);
  cipher.cipher.name = "chacha20-poly1305";
  await refused(cipher, TKEY.passphrase, /unsupported/);
  await refused(
    { ...kf, format: "tally-trustee-key/2" },
    TKEY.passphrase,
    /not a trustee key file/,
  );
});

// --- the credential authority's signed list ------------------------------------------------------

test("credential list: authority key, keys, signed bytes and signature, byte for byte", () => {
  const v = CLIST;
  const seed = bytes(v.authority_seed_hex);
  assert.equal(hex(ed25519.getPublicKey(seed)), v.authority_public_key_hex);
  assert.equal(v.list.authority, v.authority_public_key_hex);
  const slips = [...v.slips, ...v.reserve_slips];
  for (const s of slips)
    assert.equal(new T.Credential(bytes(s.secret_hex)).publicKeyHex, s.public_key_hex);
  assert.deepEqual(v.list.keys, slips.map((s) => s.public_key_hex).sort());
  assert.deepEqual([v.list.count, v.list.reserve], [v.slips.length, v.reserve_slips.length]);
  assert.equal(hex(T.utf8("tally/v2/credential-list\0")), v.tag_hex);
  const signed = T.credentialListSignedBytes(v.list);
  const { signature: _sig, ...unsigned } = v.list;
  assert.equal(hex(T.concatBytes(bytes(v.tag_hex), T.canonicalJson(unsigned))), v.signed_bytes_hex);
  assert.equal(hex(signed), v.signed_bytes_hex);
  assert.equal(hex(ed25519.sign(signed, seed)), v.signature_hex); // Ed25519 is deterministic
  assert.equal(v.list.signature, v.signature_hex);
  assert.ok(T.verifySignature(bytes(v.list.authority), bytes(v.signature_hex), signed));
  assert.ok(!T.verifySignature(bytes(v.list.authority), bytes(flip(v.signature_hex)), signed));
  // The expected parse result: what the poll context lists, and the commitment.
  const p = v.parsed;
  assert.deepEqual(
    [p.poll_uid, p.count, p.reserve, p.keys, p.authority],
    [v.list.poll_uid, v.list.count, v.list.reserve, v.list.keys, v.list.authority],
  );
  assert.equal(T.credentialCommitment(p.keys), p.commitment);
  const fp = T.sha256Hex(bytes(p.authority)).slice(0, 32);
  assert.equal(fp.match(/.{4}/g).join(":"), p.fingerprint);
  const ctx = T.pollContext(BALLOT.manifest);
  assert.deepEqual(ctx.credentials, p.keys);
  assert.equal(ctx.pollUid, p.poll_uid);
});

test("credential list: a list the booth refuses (signature, poll uid) fails the manifest", () => {
  const booth = CLIST.rejected.filter((c) => c.check === "signature" || c.check === "poll_uid");
  assert.ok(booth.length >= 3);
  for (const c of booth) {
    const m = structuredClone(BALLOT.manifest);
    m.election.poll_uid = c.poll_uid;
    m.credential_list = c.document;
    assert.throws(
      () => T.pollContext(m),
      (e) => e.code === "manifest" && /credential_list/.test(e.message),
      c.reason,
    );
  }
  // The others (order, sizes, small-order keys) are checked by the server and the verifier (19.):
  // each is a list the authority really signed.
  for (const c of CLIST.rejected.filter((x) => !booth.includes(x)))
    assert.ok(
      T.verifySignature(
        bytes(c.document.authority),
        bytes(c.document.signature),
        T.credentialListSignedBytes(c.document),
      ),
      c.reason,
    );
});

// --- the attendance chain and the trustee's statement --------------------------------------------

const ATT = load("attendance.json");

test("attendance chain: genesis, lines, hashes and head (protocol version 2)", () => {
  const v = ATT;
  assert.equal(v.fingerprint, BALLOT.poll_context.fingerprint);
  assert.equal(hex(T.utf8("tally/v2/attendance\0")), v.tag_hex);
  let prev = T.sha256Bytes(T.concatBytes(bytes(v.tag_hex), bytes(v.fingerprint)));
  assert.equal(hex(prev), v.genesis);
  let text = "";
  v.entries.forEach((entry, n) => {
    assert.deepEqual(Object.keys(entry).sort(), ["actor", "present", "seq", "time"]);
    assert.equal(entry.seq, n + 1);
    const digest = T.sha256Bytes(T.concatBytes(prev, T.canonicalJson(entry)));
    const line = { ...entry, prev: hex(prev), hash: hex(digest) };
    assert.deepEqual(line, v.lines[n]);
    text += T.canonicalJsonText(line) + "\n";
    prev = digest;
  });
  assert.equal(text, v.jsonl);
  assert.deepEqual(v.checked, {
    entries: v.entries.length,
    head: hex(prev),
    present: v.entries[v.entries.length - 1].present,
  });
});

test("attendance statement: the trustee's derived signing key, signed bytes and signature", () => {
  const v = ATT;
  const sk = v.trustee.signing_key;
  const x = T.scalarFromHex(v.trustee.x_hex);
  assert.equal(v.trustee.x_hex, BALLOT.trustee_secrets_hex[0]);
  assert.equal(hex(T.encodeScalar(x)), sk.ikm_hex);
  assert.equal(sk.hkdf.info, T.SIGNING_INFO);
  const seed = hkdf(sha256, bytes(sk.ikm_hex), undefined, T.utf8(sk.hkdf.info), sk.hkdf.length);
  assert.equal(hex(seed), sk.seed_hex);
  assert.equal(hex(T._trusteeSigningSeed(x)), sk.seed_hex);
  assert.equal(hex(ed25519.getPublicKey(seed)), sk.public_key_hex);
  const trustee = BALLOT.manifest.election.trustees[0];
  assert.equal(trustee.signing_key, sk.public_key_hex);
  assert.equal(T._trusteeKeyFromSecret(x, trustee).signingKeyHex, sk.public_key_hex);
  const st = v.statement;
  assert.equal(st.signing_key, sk.public_key_hex);
  assert.equal(st.trustee, trustee.name);
  assert.equal(hex(T.utf8("tally/v2/attendance-statement\0")), v.statement_tag_hex);
  const { signature: _sig, ...unsigned } = st;
  const signed = T.concatBytes(bytes(v.statement_tag_hex), T.canonicalJson(unsigned));
  assert.equal(hex(signed), v.signed_bytes_hex);
  assert.equal(hex(ed25519.sign(signed, seed)), v.signature_hex); // deterministic
  assert.equal(st.signature, v.signature_hex);
  assert.ok(T.verifySignature(bytes(st.signing_key), bytes(st.signature), signed));
  const changed = T.concatBytes(
    bytes(v.statement_tag_hex),
    T.canonicalJson({ ...unsigned, present: 2 }),
  );
  assert.ok(!T.verifySignature(bytes(st.signing_key), bytes(st.signature), changed));
  // The figures: this poll, the chain, board.json's board.
  assert.deepEqual(
    [st.poll, st.poll_uid, st.present, st.attendance_entries, st.attendance_head],
    [
      v.fingerprint,
      BALLOT.manifest.election.poll_uid,
      v.checked.present,
      v.checked.entries,
      v.checked.head,
    ],
  );
  assert.equal(st.board_head, BOARD.head);
  assert.equal(st.electronic_ballots, BOARD.entries.length);
  assert.equal(st.paper_ballots, 0);
});

// --- the Benaloh challenge of version 2 (12.6) ----------------------------------------------------

const CHALLENGE = load("challenge.json");

test("challenge: the seed's derived values, the ballot byte for byte, commitment, QR text, notice", () => {
  const manifest = load("ballot.json").manifest;
  const ctx = T.pollContext(manifest);
  const seed = bytes(CHALLENGE.seed_hex);
  const source = T.seedSource(ctx.fingerprint, seed);
  for (const [label, expected] of Object.entries(CHALLENGE.derived)) {
    const [i, j, part] = label.split("/");
    let value;
    if (j === "sum") value = source.sumNonces(Number(i))[part];
    else if (part === "r") value = source.r(Number(i), Number(j));
    else value = source.choiceNonces(Number(i), Number(j))[part];
    assert.equal(T.scalarHex(value), expected, label);
  }
  const credential = new T.Credential(bytes(CHALLENGE.credential_secret_hex));
  const { ballot, commitment } = T.encryptFromSeed(ctx, credential, CHALLENGE.choices, seed);
  assert.deepEqual(ballot, CHALLENGE.ballot);
  assert.equal(commitment, CHALLENGE.commitment);
  const file = T.challengeFile(ctx.fingerprintHex, seed, CHALLENGE.choices, commitment);
  assert.deepEqual(file, CHALLENGE.file);
  assert.equal(T.challengeQrText(file), CHALLENGE.qr_text);
  const rows = T.rebuildCiphertexts(ctx, CHALLENGE.choices, seed);
  assert.equal(hex(T.commitmentHash(ctx.fingerprint, rows)), CHALLENGE.commitment_hash);
  assert.deepEqual(T.makeNotice(ctx, credential, rows), CHALLENGE.notice);
  for (const given of [CHALLENGE.file, T.parseChallengeText(CHALLENGE.qr_text)]) {
    const result = T.checkChallengeFile(ctx, given);
    assert.deepEqual([result.matches, result.choices], [true, [1, null]]);
  }
  for (const { file: wrong, differs } of CHALLENGE.wrong) {
    const result = T.checkChallengeFile(ctx, wrong);
    assert.deepEqual([result.matches, result.differs], [false, differs]);
  }
  // Not a challenge: a truncated QR text, a seed that is not hex, an extra field.
  for (const text of [
    CHALLENGE.qr_text.slice(0, -20).split(":").slice(0, 3).join(":"),
    JSON.stringify({ ...CHALLENGE.file, seed: "zz" }),
    JSON.stringify({ ...CHALLENGE.file, extra: 1 }),
  ]) {
    assert.throws(() => T.checkChallengeFile(ctx, T.parseChallengeText(text)), T.ChallengeError);
  }
});

test("verify refuses a ciphertext with a = identity (r = 0: the vote in the clear)", () => {
  const manifest = load("ballot.json").manifest;
  const ctx = T.pollContext(manifest);
  const credential = new T.Credential(bytes(CHALLENGE.credential_secret_hex));
  const seed = bytes(CHALLENGE.seed_hex);
  const base = T.seedSource(ctx.fingerprint, seed);
  const zeroR = { ...base, r: (i, j) => (i === 0 && j === 0 ? 0n : base.r(i, j)) };
  const { ballot } = T._encryptBallotWith(ctx, credential, [1, null], zeroR);
  assert.equal(ballot.answers[0].choices[0].a, T.pointHex(T.IDENTITY));
  assert.throws(() => T.verifyBallot(ctx, ballot), /not encrypted \(a = 0\)/);
});

// --- the key ceremony (9.4) and counting with any k (14.5) ---------------------------------------

const CEREMONY = load("ceremony.json");

test("ceremony: digest, dealings and checks byte for byte, outcome, threshold shares, counts", () => {
  const trustees = CEREMONY.trustees.map((t) => T.parseTrusteePublic(t));
  const keys = CEREMONY.trustee_secrets_hex.map((x, m) =>
    T._trusteeKeyFromSecret(T.scalarFromHex(x), CEREMONY.trustees[m]),
  );
  const setup = T.makeCeremony(CEREMONY.ceremony.uid, CEREMONY.ceremony.threshold, trustees);
  assert.equal(hex(setup.digest), CEREMONY.ceremony_digest);
  assert.deepEqual(T.makeDealing(setup, keys[0]), CEREMONY.dealings[0]);
  assert.deepEqual(T.makeDealing(setup, keys[1]), CEREMONY.dealings[1]);
  assert.deepEqual(T.makeDealing(setup, keys[2]), CEREMONY.honest_dealing_3);
  keys.forEach((key, m) =>
    assert.deepEqual(T.makeCheck(setup, key, CEREMONY.dealings), CEREMONY.checks[m]),
  );
  const outcome = T.evaluateCeremony(setup, CEREMONY.dealings, CEREMONY.checks);
  assert.deepEqual(outcome.qualified, CEREMONY.outcome.qualified);
  assert.deepEqual(outcome.faults, CEREMONY.outcome.faults);
  assert.equal(T.pointHex(outcome.publicKey), CEREMONY.outcome.public_key);
  assert.deepEqual(
    Object.fromEntries([...outcome.verificationKeys].map(([m, vk]) => [String(m), T.pointHex(vk)])),
    CEREMONY.outcome.verification_keys,
  );
  const aggregate = T.parseAggregate(CEREMONY.aggregate);
  const digest = T.sha256Hex(T.canonicalJson(CEREMONY.aggregate));
  const partials = new Map();
  for (const share of CEREMONY.shares) {
    const m = share.trustee;
    const key = T.thresholdKey(setup, CEREMONY.dealings, CEREMONY.checks, keys[m - 1]);
    const again = T.decryptThresholdShare(key, CEREMONY.aggregate, {
      _nonce: (i, j) => T.scalarFromHex(CEREMONY.share_nonces_hex[`${m}/${i}/${j}`]),
    });
    assert.deepEqual(again, share);
    const checked = T.verifyThresholdShare(aggregate, digest, setup, outcome, share);
    partials.set(checked.trustee, checked.partials);
  }
  const { counts, used } = T.combineThreshold(aggregate.cts, partials, 2, 3);
  assert.deepEqual(counts, CEREMONY.counts);
  assert.deepEqual(used, CEREMONY.combined_with);
  // A changed byte is refused; fewer than k shares do not combine.
  const bad = structuredClone(CEREMONY.dealings);
  bad[0].commitments[1] = flip(bad[0].commitments[1], 62);
  assert.throws(() => T.evaluateCeremony(setup, bad, CEREMONY.checks), /dealing of trustee 1/);
  assert.throws(
    () => T.combineThreshold(aggregate.cts, new Map([[1, partials.get(1)]]), 2, 3),
    /fewer than the k = 2 needed/,
  );
});
