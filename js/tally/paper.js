// The paper fallback (docs/protocol.md 13.3), as tally/paper.py: the void statement a slip's own
// key signs on the operator's device, the paper ballot a trustee enters after close (an ordinary
// encrypted ballot under a one-time credential, signed by the trustee), and the checks of both
// files that the trustee page makes before it signs or decrypts anything.

import { sha256 } from "@noble/hashes/sha2.js";

import { canonicalJson, canonicalJsonText, isPlainObject, parseJson } from "./canonical.js";
import { Credential, verifySignature } from "./credentials.js";
import { isValidEd25519Key } from "./trustee-public.js";
import { asContext } from "./manifest.js";
import { encryptWithCredential, exactKeys, verifyBallot } from "./ballots.js";
import { trusteeSign } from "./trustees.js";
import { concatBytes, fail, fromHex, toHex, utf8 } from "./group.js";

export const VOID_FORMAT = "tally-void/1";
export const PAPER_FORMAT = "tally-paper-ballot/1";
const VOID_TAG = utf8("tally/v2/void-for-paper\0");
const PAPER_TAG = utf8("tally/v2/paper-ballot\0");
const COUNT_HEAD_TAG = utf8("tally/v2/count-head\0");
const VOID_FIELDS = ["format", "poll", "poll_uid", "credential", "reason", "signature"];
const PAPER_FIELDS = [
  "format",
  "poll",
  "poll_uid",
  "ballot",
  "trustee",
  "signing_key",
  "signature",
];
const HEX32 = /^[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{128}$/;

function signedBytes(tag, document) {
  const body = { ...document };
  delete body.signature;
  return concatBytes(tag, canonicalJson(body));
}

function requireV2(ctx) {
  if (ctx.version !== 2 || !ctx.pollUid) fail("paper", "paper ballots need a version-2 manifest");
}

function compareBytes(x, y) {
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * The count head (13.3) a trustee types before decrypting, as tally.paper.count_head: the board
 * head (hex) when no slip was voided for paper and there is no paper ballot, else
 * hex(SHA256("tally/v2/count-head\0" ‖ board head ‖ c_1 ‖ … ‖ c_P)) over the paper ballots'
 * tracking codes as bytes (the first 10 bytes of each tracking hash) in ascending order.
 */
export function countHead(boardHeadHex, paperHashes, voided = 0) {
  if (paperHashes.length === 0 && !voided) return boardHeadHex;
  const codes = paperHashes.map((h) => h.subarray(0, 10)).sort(compareBytes);
  return toHex(sha256(concatBytes(COUNT_HEAD_TAG, fromHex(boardHeadHex, 32), ...codes)));
}

/** The void statement of the slip `code`, signed with the slip's own key (13.3). */
export function makeVoid(manifestOrContext, code) {
  const ctx = asContext(manifestOrContext);
  requireV2(ctx);
  const credential = Credential.fromCode(code);
  if (!new Set(ctx.credentials).has(credential.publicKeyHex))
    fail("paper", "the slip is not on this poll's credential list");
  const document = {
    format: VOID_FORMAT,
    poll: ctx.fingerprintHex,
    poll_uid: ctx.pollUid,
    credential: credential.publicKeyHex,
    reason: "paper",
  };
  document.signature = toHex(credential.sign(signedBytes(VOID_TAG, document)));
  return document;
}

/**
 * One paper ballot as the counting committee enters it (13.3): the choices (a grade index per
 * subject, null for a blank where allowed) encrypted and proved under a one-time credential drawn
 * here from the OS and forgotten, then signed with the trustee's signing key.
 */
export function makePaperBallot(manifestOrContext, trusteeKey, choices) {
  const ctx = asContext(manifestOrContext);
  requireV2(ctx);
  const mine = ctx.trustees.find(
    (t) => t.publicKeyHex === trusteeKey.publicKeyHex && t.signingKeyHex === trusteeKey.signingKeyHex,
  );
  if (!mine) fail("trustee-key", "this key is not one of the poll's trustees");
  const oneTime = new Credential(crypto.getRandomValues(new Uint8Array(16)));
  const { ballot } = encryptWithCredential(ctx, oneTime, choices);
  const document = {
    format: PAPER_FORMAT,
    poll: ctx.fingerprintHex,
    poll_uid: ctx.pollUid,
    ballot,
    trustee: mine.name,
    signing_key: trusteeKey.signingKeyHex,
  };
  document.signature = toHex(trusteeSign(trusteeKey, signedBytes(PAPER_TAG, document)));
  return document;
}

function lines(text, name) {
  if (text === "") return [];
  if (!text.endsWith("\n")) fail("paper", `${name}: the last line does not end in a newline`);
  const raw = text.slice(0, -1).split("\n");
  const sorted = [...raw].sort((a, b) => compareBytes(utf8(a), utf8(b)));
  if (sorted.some((line, k) => line !== raw[k]) || new Set(raw).size !== raw.length)
    fail("paper", `${name}: the lines are not in ascending byte order, each once`);
  return raw.map((line, k) => {
    let value;
    try {
      value = parseJson(line);
    } catch (e) {
      fail("paper", `${name} line ${k + 1}: not JSON (${e.message})`);
    }
    if (canonicalJsonText(value) !== line) fail("paper", `${name} line ${k + 1}: not canonical JSON`);
    return value;
  });
}

/**
 * Both paper files checked as tally/paper.py checks them (13.3): every void signed by its listed
 * slip, every paper ballot valid (12.4) and signed by a trustee of the manifest under a one-time
 * key that is not a slip's, no voided slip on the board (`boardCredentials`, hex), no key twice,
 * no more paper ballots than slips voided. Returns {voided, ballots: [verified ballot]}.
 */
export function readPaper(manifestOrContext, voidsText, paperText, boardCredentials) {
  if (voidsText === "" && paperText === "") return { voided: 0, ballots: [] }; // no paper: any version
  const ctx = asContext(manifestOrContext);
  requireV2(ctx);
  const listed = new Set(ctx.credentials);
  const voided = lines(voidsText, "voids.jsonl").map((d, k) => {
    const where = `voids.jsonl line ${k + 1}`;
    if (!isPlainObject(d) || !exactKeys(d, VOID_FIELDS) || d.format !== VOID_FORMAT)
      fail("paper", `${where}: not a void statement (${VOID_FORMAT})`);
    if (d.poll !== ctx.fingerprintHex || d.poll_uid !== ctx.pollUid)
      fail("paper", `${where}: for another poll`);
    if (d.reason !== "paper") fail("paper", `${where}: reason must be "paper"`);
    if (typeof d.credential !== "string" || !listed.has(d.credential))
      fail("paper", `${where}: the slip is not on this poll's credential list`);
    if (typeof d.signature !== "string" || !HEX64.test(d.signature))
      fail("paper", `${where}: signature must be 64 bytes in lowercase hex`);
    if (!verifySignature(fromHex(d.credential, 32), fromHex(d.signature, 64), signedBytes(VOID_TAG, d)))
      fail("paper", `${where}: the slip's signature does not verify`);
    return d.credential;
  });
  const ballots = lines(paperText, "paper.jsonl").map((d, k) => {
    const where = `paper.jsonl line ${k + 1}`;
    if (!isPlainObject(d) || !exactKeys(d, PAPER_FIELDS) || d.format !== PAPER_FORMAT)
      fail("paper", `${where}: not a paper-ballot statement (${PAPER_FORMAT})`);
    if (d.poll !== ctx.fingerprintHex || d.poll_uid !== ctx.pollUid)
      fail("paper", `${where}: for another poll`);
    const signer = ctx.trustees.find((t) => t.signingKeyHex === d.signing_key && t.name === d.trustee);
    if (!signer) fail("paper", `${where}: not signed by a trustee of this poll`);
    if (typeof d.signature !== "string" || !HEX64.test(d.signature))
      fail("paper", `${where}: signature must be 64 bytes in lowercase hex`);
    if (!verifySignature(fromHex(d.signing_key, 32), fromHex(d.signature, 64), signedBytes(PAPER_TAG, d)))
      fail("paper", `${where}: the trustee's signature does not verify`);
    const key = isPlainObject(d.ballot) ? d.ballot.credential : null;
    if (typeof key !== "string" || !HEX32.test(key)) fail("paper", `${where}: no one-time credential`);
    if (!isValidEd25519Key(key)) fail("paper", `${where}: the one-time credential is not a valid key`);
    if (listed.has(key)) fail("paper", `${where}: a slip's key; a paper ballot has its own one-time key`);
    try {
      return verifyBallot(ctx, d.ballot);
    } catch (e) {
      fail("paper", `${where}: ${e.message}`);
    }
    return null;
  });
  const board = new Set(boardCredentials);
  if (new Set(voided).size !== voided.length) fail("paper", "a slip is voided twice");
  if (voided.some((k) => board.has(k))) fail("paper", "a voided slip also cast a ballot");
  const keys = ballots.map((b) => b.credential);
  if (new Set(keys).size !== keys.length || keys.some((k) => board.has(k)))
    fail("paper", "a one-time credential is used twice");
  if (ballots.length > voided.length)
    fail("paper", `${ballots.length} paper ballots, more than the ${voided.length} slips voided for paper`);
  return { voided: voided.length, ballots };
}
