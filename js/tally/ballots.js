// Ballots (docs/protocol.md 12.), as tally/ballots.py: encrypt, prove and sign a voter's choices,
// verify a ballot, its tracking hash and code, and the Benaloh challenge.

import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { canonicalJson, isPlainObject } from "./canonical.js";
import { Credential, base32, groups, verifySignature } from "./credentials.js";
import { ZERO_CIPHERTEXT, addCiphertexts, ciphertextToJson, encrypt } from "./elgamal.js";
import {
  G,
  L,
  TallyError,
  bytesToBigLE,
  concatBytes,
  encodePoint,
  fail,
  fromHex,
  modL,
  pointFromHex,
  randomScalar,
  scalarFromHex,
  scalarHex,
  toHex,
  u32,
  utf8,
} from "./group.js";
import { asContext, pollContext } from "./manifest.js";
import {
  csProofFromJson,
  csProofToJson,
  proveDleq,
  proveZeroOne,
  verifyDleq,
  verifyZeroOne,
  zeroOneProofFromJson,
  zeroOneProofToJson,
} from "./proofs.js";

export const TAG_CHOICE = "tally/v1/choice-0-1";
export const TAG_SUM_ONE = "tally/v1/subject-sum-1";
export const TAG_SUM_ZERO_ONE = "tally/v1/subject-sum-0-1";
export const BALLOT_FORMAT = "tally-ballot/1";

const SIGNATURE_PREFIX = utf8("tally/v1/ballot-signature\0");
// Version 2 (12.6): every random value of a ballot from one seed; a commitment to the ciphertexts.
const SEED_INFO = utf8("tally/v2/ballot-seed\0");
const COMMITMENT_PREFIX = utf8("tally/v2/ballot-commitment\0");
export const SEED_BYTES = 32;
const COMMITMENT_BYTES = 20;

function ballotContext(ctx, credential, subject, grade) {
  const parts = [ctx.fingerprint, credential, u32(subject)];
  if (grade !== undefined && grade !== null) parts.push(u32(grade));
  return concatBytes(...parts);
}

/** What the credential signs (12.3): the prefix and the canonical ballot without "signature". */
export function signedBytes(ballot) {
  const body = {};
  for (const k of Object.keys(ballot)) if (k !== "signature") body[k] = ballot[k];
  return concatBytes(SIGNATURE_PREFIX, canonicalJson(body));
}

const RANDOM_SOURCE = Object.freeze({
  r: () => randomScalar(),
  choiceNonces: () => ({ w: randomScalar(), c_sim: randomScalar(), s_sim: randomScalar() }),
  sumNonces: () => ({ w: randomScalar(), c_sim: randomScalar(), s_sim: randomScalar() }),
});

/**
 * The random values of one ballot derived from its seed (12.6): HKDF-SHA512(IKM = seed, salt none,
 * info = "tally/v2/ballot-seed\0" ‖ fingerprint ‖ label, 64 bytes), little-endian, mod L, for the
 * labels "i/j/r", "i/j/w", "i/j/c_sim", "i/j/s_sim", "i/sum/w", "i/sum/c_sim", "i/sum/s_sim".
 */
export function seedSource(fingerprint, seed) {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES)
    fail("seed", `a ballot seed is ${SEED_BYTES} bytes`);
  const nonce = (label) => {
    const okm = hkdf(sha512, seed, undefined, concatBytes(SEED_INFO, fingerprint, utf8(label)), 64);
    const k = bytesToBigLE(okm) % L;
    if (k === 0n) fail("random", "a derived value is zero: draw another seed");
    return k;
  };
  const triple = (where) => ({
    w: nonce(`${where}/w`),
    c_sim: nonce(`${where}/c_sim`),
    s_sim: nonce(`${where}/s_sim`),
  });
  return {
    r: (i, j) => nonce(`${i}/${j}/r`),
    choiceNonces: (i, j) => triple(`${i}/${j}`),
    sumNonces: (i) => triple(`${i}/sum`),
  };
}

/** A fresh 32-byte seed from the browser's CSPRNG: one per encryption, never reused. */
export function newSeed() {
  const c = globalThis.crypto;
  if (!c || typeof c.getRandomValues !== "function")
    fail("random", "no secure random number generator (crypto.getRandomValues)");
  return c.getRandomValues(new Uint8Array(SEED_BYTES));
}

/** SHA256(prefix ‖ fingerprint ‖ a_00 ‖ b_00 ‖ a_01 ‖ …) over raw points (12.6). */
export function commitmentHash(fingerprint, ciphertexts) {
  const parts = [COMMITMENT_PREFIX, fingerprint];
  for (const row of ciphertexts) for (const ct of row) parts.push(encodePoint(ct.a), encodePoint(ct.b));
  return sha256(concatBytes(...parts));
}

/** The commitment as shown: base32 of its first 160 bits in 8 groups of 4. */
export function commitmentCode(hash) {
  return groups(base32(hash.subarray(0, COMMITMENT_BYTES)), 4);
}

/** The ciphertexts a seed and choices give: what a challenge check compares (12.6). */
export function rebuildCiphertexts(ctx, choices, seed) {
  checkChoices(ctx, choices);
  const source = seedSource(ctx.fingerprint, seed);
  return choices.map((choice, i) => {
    const row = [];
    for (let j = 0; j < ctx.grades; j++)
      row.push(encrypt(ctx.publicKey, choice === j ? 1 : 0, source.r(i, j)));
    return row;
  });
}

function checkChoices(ctx, choices) {
  if (!Array.isArray(choices) || choices.length !== ctx.subjects)
    fail("choices", `the ballot must rate ${ctx.subjects} subjects`);
  choices.forEach((choice, i) => {
    if (choice === null || choice === undefined) {
      if (!ctx.allowBlank)
        fail(
          "choices-incomplete",
          `subject ${i + 1} must be rated (this rule set allows no blank)`,
        );
    } else if (!Number.isInteger(choice) || choice < 0 || choice >= ctx.grades) {
      fail("choices", `subject ${i + 1}: grade index out of range`);
    }
  });
}

/**
 * Encrypt, prove and sign with randomness and nonces from `source` (12.2, 12.3). The booth uses
 * encryptBallot (random source); tests pass a source that replays the Python vectors.
 * @param {PollContext} ctx
 * @param {Credential} credential
 * @param {Array<number|null>} choices grade index per subject, null for blank
 * @param {{r(i:number,j:number):bigint, choiceNonces(i:number,j:number):object, sumNonces(i:number):object}} source
 * @param {(p:{done:number,total:number})=>void} [onProgress]
 * @returns {{ballot: object, randomness: bigint[][]}}
 */
export function _encryptBallotWith(ctx, credential, choices, source, onProgress) {
  checkChoices(ctx, choices);
  const cred = credential.publicKey;
  const Y = ctx.publicKey;
  const answers = [];
  const randomness = [];
  if (onProgress) onProgress({ done: 0, total: ctx.subjects });
  for (let i = 0; i < ctx.subjects; i++) {
    const choice = choices[i] === undefined ? null : choices[i];
    const rs = [];
    for (let j = 0; j < ctx.grades; j++) rs.push(source.r(i, j));
    const items = [];
    let total = ZERO_CIPHERTEXT;
    for (let j = 0; j < ctx.grades; j++) {
      const m = choice === j ? 1 : 0;
      const ct = encrypt(Y, m, rs[j]);
      const { proof } = proveZeroOne(
        Y,
        ct,
        m,
        rs[j],
        TAG_CHOICE,
        ballotContext(ctx, cred, i, j),
        source.choiceNonces(i, j),
      );
      items.push({ ...ciphertextToJson(ct), proof: zeroOneProofToJson(proof) });
      total = addCiphertexts(total, ct);
    }
    const rSum = modL(rs.reduce((x, y) => x + y, 0n));
    const sumContext = ballotContext(ctx, cred, i, null);
    let sumProof;
    if (ctx.allowBlank) {
      const mSum = choice === null ? 0 : 1;
      sumProof = zeroOneProofToJson(
        proveZeroOne(Y, total, mSum, rSum, TAG_SUM_ZERO_ONE, sumContext, source.sumNonces(i)).proof,
      );
    } else {
      // (A, B − G) = (R·G, R·Y): DLEQ with H = Y, X = A, Z = B − G, x = R.
      const { w } = source.sumNonces(i);
      sumProof = csProofToJson(
        proveDleq(rSum, Y, TAG_SUM_ONE, sumContext, w, [total.a, total.b.subtract(G)]).proof,
      );
    }
    answers.push({ choices: items, sum_proof: sumProof });
    randomness.push(rs);
    if (onProgress) onProgress({ done: i + 1, total: ctx.subjects });
  }
  const ballot = {
    format: BALLOT_FORMAT,
    poll: ctx.fingerprintHex,
    credential: toHex(cred),
    answers,
  };
  ballot.signature = toHex(credential.sign(signedBytes(ballot)));
  return { ballot, randomness };
}

/**
 * The booth's encryption: for the manifest's poll, the slip `code` and the grade index chosen per
 * subject (null for a blank, only where election.allow_blank), a signed tally-ballot/1 object and
 * the randomness [[hex per grade] per subject] that a Benaloh challenge reveals (12.6).
 * @param {object} manifest parsed manifest.json
 * @param {string} code the slip's typed code
 * @param {Array<number|null>} choices
 * @param {{onProgress?: (p:{done:number,total:number})=>void}} [options]
 */
export function encryptBallot(manifest, code, choices, { onProgress } = {}) {
  return encryptWithCredential(pollContext(manifest), Credential.fromCode(code), choices, {
    onProgress,
  });
}

/**
 * The booth's encryption (version 2, 12.6): every random value from `seed`. Returns the signed
 * ballot, its ciphertexts and the commitment code shown before the voter casts or challenges.
 */
export function encryptFromSeed(ctx, credential, choices, seed, { onProgress } = {}) {
  const { ballot } = _encryptBallotWith(
    ctx,
    credential,
    choices,
    seedSource(ctx.fingerprint, seed),
    onProgress,
  );
  const ciphertexts = ballot.answers.map((answer) =>
    answer.choices.map((c) => ({ a: pointFromHex(c.a), b: pointFromHex(c.b) })),
  );
  return { ballot, ciphertexts, commitment: commitmentCode(commitmentHash(ctx.fingerprint, ciphertexts)) };
}

/** encryptBallot for an already checked poll context and credential (as the booth's worker does). */
export function encryptWithCredential(ctx, credential, choices, { onProgress } = {}) {
  const { ballot, randomness } = _encryptBallotWith(
    ctx,
    credential,
    choices,
    RANDOM_SOURCE,
    onProgress,
  );
  return { ballot, randomness: randomness.map((rs) => rs.map(scalarHex)) };
}

/** tracking_hash = SHA256(canonical_json(ballot)), signature included (12.5). */
export function trackingHash(ballot) {
  return sha256(canonicalJson(ballot));
}

/** base32 of the first 10 bytes of the tracking hash, as XXXX-XXXX-XXXX-XXXX (12.5). */
export function trackingCode(hash) {
  const bytes = typeof hash === "string" ? fromHex(hash, 32, "tracking hash") : hash;
  return groups(base32(bytes.subarray(0, 10)), 4);
}

function hexField(value, size, what) {
  if (typeof value !== "string" || value.length !== 2 * size || !/^[0-9a-f]*$/.test(value))
    fail("ballot", `the ${what} must be ${2 * size} lowercase hex characters`);
  return fromHex(value, size, what);
}

export function exactKeys(obj, names) {
  const keys = Object.keys(obj);
  return (
    keys.length === names.length && names.every((n) => Object.prototype.hasOwnProperty.call(obj, n))
  );
}

/**
 * verify_ballot (12.4), in its order; throws TallyError (code 'ballot') naming the first failure.
 * Returns {credential (hex), ciphertexts [[{a, b}]] (points), trackingHash (bytes)}. `tracking`:
 * the ballot's tracking hash when the caller has computed it already (it is not computed again).
 * @param {object|PollContext} manifestOrContext
 */
export function verifyBallot(manifestOrContext, ballot, tracking = undefined) {
  const ctx = asContext(manifestOrContext);
  try {
    return verifyInner(ctx, ballot, tracking);
  } catch (err) {
    if (err instanceof TallyError && err.code === "ballot") throw err;
    throw new TallyError("ballot", err.message);
  }
}

function verifyInner(ctx, ballot, tracking) {
  if (!isPlainObject(ballot)) fail("ballot", "a ballot must be a JSON object");
  const expected = ["answers", "credential", "format", "poll", "signature"];
  if (!exactKeys(ballot, expected))
    fail("ballot", "a ballot must have exactly the fields " + expected.join(", "));
  if (ballot.format !== BALLOT_FORMAT)
    fail("ballot", `unknown ballot format (expected ${BALLOT_FORMAT})`);
  if (ballot.poll !== ctx.fingerprintHex)
    fail("ballot", "the ballot is for another poll (fingerprint differs)");
  const cred = hexField(ballot.credential, 32, "credential");
  const signature = hexField(ballot.signature, 64, "signature");
  // The signature is cheap next to the proofs: checked first, as tally does.
  if (!verifySignature(cred, signature, signedBytes(ballot)))
    fail("ballot", "the credential's signature does not verify");
  const answers = ballot.answers;
  if (!Array.isArray(answers) || answers.length !== ctx.subjects)
    fail("ballot", `the ballot must rate exactly ${ctx.subjects} subjects`);
  const Y = ctx.publicKey;
  const parsed = [];
  answers.forEach((answer, i) => {
    const where = `subject ${i + 1}`;
    if (!isPlainObject(answer) || !exactKeys(answer, ["choices", "sum_proof"]))
      fail("ballot", `${where}: an answer has exactly the fields choices, sum_proof`);
    const choices = answer.choices;
    if (!Array.isArray(choices) || choices.length !== ctx.grades)
      fail("ballot", `${where}: expected ${ctx.grades} encrypted grades`);
    const cts = [];
    let total = ZERO_CIPHERTEXT;
    choices.forEach((item, j) => {
      if (!isPlainObject(item) || !exactKeys(item, ["a", "b", "proof"]))
        fail("ballot", `${where}, grade ${j + 1}: fields must be a, b, proof`);
      const ct = { a: pointFromHex(item.a), b: pointFromHex(item.b) };
      // a = identity means r = 0: b = m·G shows the vote to anyone reading the board.
      if (ct.a.is0()) fail("ballot", `${where}, grade ${j + 1}: a ciphertext is not encrypted (a = 0)`);
      const proof = zeroOneProofFromJson(item.proof);
      if (!verifyZeroOne(Y, ct, proof, TAG_CHOICE, ballotContext(ctx, cred, i, j)))
        fail("ballot", `${where}, grade ${j + 1}: the 0/1 proof does not verify`);
      cts.push(ct);
      total = addCiphertexts(total, ct);
    });
    if (total.a.is0())
      fail("ballot", `${where}: the subject's ciphertexts are not encrypted (sum a = 0)`);
    const sumContext = ballotContext(ctx, cred, i, null);
    const ok = ctx.allowBlank
      ? verifyZeroOne(
          Y,
          total,
          zeroOneProofFromJson(answer.sum_proof),
          TAG_SUM_ZERO_ONE,
          sumContext,
        )
      : verifyDleq(
          Y,
          total.a,
          total.b.subtract(G),
          csProofFromJson(answer.sum_proof),
          TAG_SUM_ONE,
          sumContext,
        );
    if (!ok) fail("ballot", `${where}: the proof that exactly one grade is chosen does not verify`);
    parsed.push(cts);
  });
  return {
    credential: ballot.credential,
    ciphertexts: parsed,
    trackingHash: tracking || trackingHash(ballot),
  };
}

/**
 * Benaloh check (12.6): do the revealed choices and randomness ([[hex]] or [[bigint]]) give
 * exactly this ballot's ciphertexts? False on any mismatch or malformed input.
 */
export function checkChallenge(manifestOrContext, ballot, choices, randomness) {
  const ctx = asContext(manifestOrContext);
  const answers = isPlainObject(ballot) ? ballot.answers : undefined;
  if (!Array.isArray(answers) || !Array.isArray(choices) || !Array.isArray(randomness))
    return false;
  if (
    answers.length !== ctx.subjects ||
    choices.length !== ctx.subjects ||
    randomness.length !== ctx.subjects
  )
    return false;
  for (let i = 0; i < answers.length; i++) {
    const choice = choices[i] === undefined ? null : choices[i];
    // An out-of-range grade would "match" an all-zero (blank) encryption and mislead the voter.
    if (choice === null && !ctx.allowBlank) return false;
    if (choice !== null && !(Number.isInteger(choice) && choice >= 0 && choice < ctx.grades))
      return false;
    const items = isPlainObject(answers[i]) ? answers[i].choices : undefined;
    const rs = randomness[i];
    if (!Array.isArray(items) || !Array.isArray(rs) || items.length !== ctx.grades) return false;
    if (rs.length !== ctx.grades) return false;
    for (let j = 0; j < items.length; j++) {
      let r;
      try {
        r = typeof rs[j] === "bigint" ? rs[j] : scalarFromHex(rs[j]);
      } catch {
        return false;
      }
      const expected = ciphertextToJson(encrypt(ctx.publicKey, choice === j ? 1 : 0, r));
      const item = items[j];
      if (!isPlainObject(item) || item.a !== expected.a || item.b !== expected.b) return false;
    }
  }
  return true;
}
