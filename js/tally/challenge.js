// The Benaloh challenge (docs/protocol.md 12.6), as tally/challenge.py: the challenge file and its
// QR text that the booth gives the voter (never the server), the check that rebuilds the
// ciphertexts from the public manifest, the seed and the choices, and the signed notice that
// tells the server which ciphertexts must never be cast (hashes of their `a`, nothing else).

import { sha256 } from "@noble/hashes/sha2.js";
import { canonicalJson, isPlainObject, parseJson } from "./canonical.js";
import { groups } from "./credentials.js";
import {
  TallyError,
  concatBytes,
  encodePoint,
  fromHex,
  scalarFromHex,
  toHex,
  utf8,
} from "./group.js";
import { asContext } from "./manifest.js";
import {
  SEED_BYTES,
  checkChallenge,
  commitmentCode,
  commitmentHash,
  exactKeys,
  rebuildCiphertexts,
  trackingCode,
  trackingHash,
} from "./ballots.js";

export const CHALLENGE_FORMAT = "tally-challenge/2";
export const NOTICE_FORMAT = "tally-challenged/1";
export const QR_PREFIX = "TALLY-CHALLENGE/2:";
const NOTICE_PREFIX = utf8("tally/v2/challenged\0");
const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const B32 = /^[A-Za-z2-7]{32}$/;
// ASCII whitespace only, as tally/challenge.py: JavaScript's trim() and Python's strip() differ.
const SPACE_EDGES = /^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g;
const SPACE_OR_DASH = /[ \t\n\r\v\f-]/g;

/** A ChallengeError names the field that is wrong (`what`). */
export class ChallengeError extends TallyError {
  constructor(what, message) {
    super("challenge", message);
    this.what = what;
  }
}

/** The challenge file's JSON value. */
export function challengeFile(fingerprintHex, seed, choices, commitment) {
  return {
    format: CHALLENGE_FORMAT,
    poll: fingerprintHex,
    seed: toHex(seed),
    choices: choices.map((c) => (c === undefined ? null : c)),
    commitment,
  };
}

/** The QR text: prefix, fingerprint, seed, one character per choice ("-" blank), commitment. */
export function challengeQrText(file) {
  const choices = file.choices
    .map((c) => {
      if (c === null) return "-";
      if (!(c >= 0 && c < DIGITS.length)) throw new ChallengeError("choices", "at most 36 grades");
      return DIGITS[c];
    })
    .join("");
  return `${QR_PREFIX}${file.poll.toUpperCase()}:${file.seed.toUpperCase()}:${choices}:${file.commitment.replaceAll("-", "")}`;
}

/** A commitment typed or scanned, in its shown form; ChallengeError unless 32 base32 chars. */
export function normalizeCommitment(text) {
  if (typeof text !== "string") throw new ChallengeError("commitment", "commitment: a string");
  const bare = text.replace(SPACE_OR_DASH, "");
  if (!B32.test(bare))
    throw new ChallengeError("commitment", "commitment: 32 base32 characters (A-Z, 2-7)");
  return groups(bare.toUpperCase(), 4);
}

/** A challenge file (JSON text) or its QR text, as the file's JSON value (not yet checked). */
export function parseChallengeText(text) {
  const stripped = String(text).replace(SPACE_EDGES, "");
  if (stripped.startsWith(QR_PREFIX)) {
    const parts = stripped.slice(QR_PREFIX.length).split(":");
    if (parts.length !== 4)
      throw new ChallengeError("qr", "QR text: expected fingerprint:seed:choices:commitment");
    const [poll, seed, choices, commitment] = parts;
    const parsed = [...choices].map((ch) => {
      if (ch === "-") return null;
      const k = DIGITS.indexOf(ch);
      if (k < 0) throw new ChallengeError("choices", "QR text: a choice is a digit or -");
      return k;
    });
    return {
      format: CHALLENGE_FORMAT,
      poll: poll.toLowerCase(),
      seed: seed.toLowerCase(),
      choices: parsed,
      commitment,
    };
  }
  let data;
  try {
    data = parseJson(stripped);
  } catch {
    throw new ChallengeError("format", "neither a challenge file (JSON) nor its QR text");
  }
  if (!isPlainObject(data)) throw new ChallengeError("format", "a challenge file is a JSON object");
  return data;
}

function hexField(value, size, what) {
  if (typeof value !== "string" || value.length !== 2 * size || !/^[0-9a-f]*$/.test(value))
    throw new ChallengeError(what, `${what}: expected ${2 * size} lowercase hex characters`);
  return fromHex(value, size, what);
}

/**
 * Check a challenge file (either version) against a poll: {matches, differs ("poll" |
 * "commitment" | "ciphertexts" | null), choices, commitment, version}. ChallengeError if it is
 * not a challenge file.
 */
export function checkChallengeFile(manifestOrContext, data) {
  const ctx = asContext(manifestOrContext);
  if (isPlainObject(data) && data.format === "tally-challenge/1") return checkV1(ctx, data);
  if (!isPlainObject(data) || data.format !== CHALLENGE_FORMAT)
    throw new ChallengeError("format", `not a ${CHALLENGE_FORMAT} file`);
  const fields = ["choices", "commitment", "format", "poll", "seed"];
  if (!exactKeys(data, fields))
    throw new ChallengeError("format", "a challenge file has exactly the fields " + fields.join(", "));
  hexField(data.poll, 32, "poll");
  const seed = hexField(data.seed, SEED_BYTES, "seed");
  const commitment = normalizeCommitment(data.commitment);
  const choices = data.choices;
  if (!Array.isArray(choices) || !choices.every((c) => c === null || Number.isInteger(c)))
    throw new ChallengeError("choices", "choices: a list of grade indexes or null");
  const result = (matches, differs) => ({ matches, differs, choices, commitment, version: 2 });
  if (data.poll !== ctx.fingerprintHex) return result(false, "poll");
  let rebuilt;
  try {
    rebuilt = rebuildCiphertexts(ctx, choices, seed);
  } catch (err) {
    if (err instanceof TallyError && err.code === "random") return result(false, "commitment");
    throw new ChallengeError("choices", `choices: ${err.message}`);
  }
  const matches = commitmentCode(commitmentHash(ctx.fingerprint, rebuilt)) === commitment;
  return result(matches, matches ? null : "commitment");
}

function checkV1(ctx, data) {
  const { ballot, choices, randomness } = data;
  if (!isPlainObject(ballot) || !Array.isArray(choices))
    throw new ChallengeError("format", "ballot must be an object and choices a list");
  if (!choices.every((c) => c === null || Number.isInteger(c)))
    throw new ChallengeError("choices", "each choice is a grade index or null");
  if (!Array.isArray(randomness) || !randomness.every((row) => Array.isArray(row)))
    throw new ChallengeError("randomness", "randomness must be a list of lists");
  let rs;
  let code;
  try {
    rs = randomness.map((row) => row.map((r) => scalarFromHex(r)));
    code = trackingCode(trackingHash(ballot));
  } catch (err) {
    throw new ChallengeError("randomness", err.message);
  }
  const result = (matches, differs) => ({ matches, differs, choices, commitment: code, version: 1 });
  if (ballot.poll !== ctx.fingerprintHex) return result(false, "poll");
  const answers = ballot.answers;
  if (
    choices.length !== ctx.subjects ||
    rs.length !== ctx.subjects ||
    !Array.isArray(answers) ||
    answers.length !== ctx.subjects ||
    rs.some((row) => row.length !== ctx.grades)
  )
    return result(false, "ciphertexts");
  const matches = checkChallenge(ctx, ballot, choices, rs);
  return result(matches, matches ? null : "ciphertexts");
}

/** SHA-256 of a ciphertext's `a`, hex: what the server keeps of a challenged ballot. */
export function aHash(a) {
  return toHex(sha256(encodePoint(a)));
}

/** The signed tally-challenged/1 notice for a challenged ballot's ciphertexts. */
export function makeNotice(ctx, credential, ciphertexts) {
  const notice = {
    format: NOTICE_FORMAT,
    poll: ctx.fingerprintHex,
    credential: credential.publicKeyHex,
    a_hashes: ciphertexts.flatMap((row) => row.map((ct) => aHash(ct.a))),
  };
  notice.signature = toHex(credential.sign(concatBytes(NOTICE_PREFIX, canonicalJson(notice))));
  return notice;
}


