// The voting booth's module Web Worker: encrypts, proves and signs the ballot off the page's
// thread, so the page stays responsive and the slip code and the choices never leave the browser.
//
//   new Worker('/public-static/build/booth-worker.js', {type: 'module'})
//
// Messages in:
//   {type: 'context', manifest} -> {type: 'context'}: checks the poll's manifest (its trustees'
//       proofs, the joint key, the authority's list) and keeps its context and the joint key's
//       table, then warms the engine up (warmUp), so that the encryption that follows does not
//       wait for them (issue 19). The booth sends it to the worker it starts while the voter
//       fills the ballot in: the manifest is public, nothing of the voter is in it.
//   {type: 'credential', manifest?, code}
//       -> {type: 'credential', public_key: hex}   (the page asks the server about this slip)
//   {type: 'encrypt', manifest?, code, choices: [grade index | null, ...], verify?: boolean}
//       (without a manifest, the one of the last 'context' message)
//       -> {type: 'progress', done, total} (once at the start, then after every subject)
//       -> {type: 'done', ballot, tracking_code, tracking_hash, commitment}
//       Every random value of the ballot comes from a fresh 32-byte seed (docs/protocol.md 12.6),
//       which stays in this worker: the page shows the commitment before the voter chooses.
//   {type: 'challenge'}
//       -> {type: 'challenge', notice, file, qr_text}: the voter challenges the last encryption:
//       the signed notice for the server (hashes of the ciphertexts' a) and, for the voter only,
//       the challenge file and its QR text (seed, choices, commitment). The seed is then
//       forgotten; the next encryption draws another.
//   {type: 'forget'} -> {type: 'forgotten'}: drop the last encryption (the voter edits).
// On any failure: {type: 'error', kind, message_vi, message_en}. Messages are fixed texts chosen
// by the kind of failure: never the code, the choices or an exception's own text.

import {
  Credential,
  TallyError,
  challengeFile,
  challengeQrText,
  encryptFromSeed,
  makeNotice,
  newSeed,
  pollContext,
  trackingCode,
  trackingHash,
  toHex,
  verifyBallot,
} from "../tally/index.js";

// The last encryption, kept for a challenge only: its seed, choices and ciphertexts.
let last = null;
// The poll context of the last 'context' message (public data only).
let kept = null;

const MESSAGES = {
  code: ["Mã thẻ không hợp lệ", "Invalid slip code"],
  "not-listed": [
    "Thẻ biểu quyết này không thuộc cuộc biểu quyết đang mở",
    "This slip does not belong to the open poll",
  ],
  manifest: [
    "Dữ liệu cuộc biểu quyết không hợp lệ; xin báo Ban tổ chức",
    "The poll's data is invalid; please tell the organizers",
  ],
  "choices-incomplete": [
    "Xin chọn một mức cho mỗi đối tượng",
    "Please choose a grade for every subject",
  ],
  choices: [
    "Lựa chọn trên phiếu không hợp lệ; xin chọn lại",
    "The choices on the ballot are invalid; please choose again",
  ],
  random: [
    "Thiết bị này không có bộ sinh số ngẫu nhiên an toàn; xin dùng thiết bị khác",
    "This device has no secure random number generator; please use another device",
  ],
  request: ["Yêu cầu không hợp lệ", "Invalid request"],
  internal: [
    "Không mã hóa được phiếu; xin thử lại hoặc báo Ban tổ chức",
    "The ballot could not be encrypted; please try again or tell the organizers",
  ],
};

function errorMessage(kind) {
  const [vi, en] = MESSAGES[kind] || MESSAGES.internal;
  return {
    type: "error",
    kind: MESSAGES[kind] ? kind : "internal",
    message_vi: vi,
    message_en: en,
  };
}

function kindOf(err) {
  return err instanceof TallyError && MESSAGES[err.code] ? err.code : "internal";
}

/**
 * The poll context and the slip's credential; refuses a slip not in the manifest's credential list
 * (version 1: manifest.credentials; version 2: the authority's signed credential_list.keys, its
 * signature checked by pollContext), as the server would refuse its ballot. A broken manifest is
 * reported before the code.
 */
function openSlip(manifest, code) {
  if (manifest === undefined && !kept) throw new TallyError("request", "no poll context yet");
  const ctx = manifest === undefined ? kept : pollContext(manifest);
  const credential = Credential.fromCode(code);
  if (!ctx.credentials.includes(credential.publicKeyHex))
    throw new TallyError("not-listed", "the credential is not in the manifest");
  return { ctx, credential };
}

/**
 * One throwaway encryption, of the first choice for every subject under a throwaway slip of random
 * bytes and its own fresh seed, discarded at once: it makes the JavaScript engine compile the
 * encryption's code while the voter is still choosing, so that the voter's encryption runs compiled
 * code (in a fresh worker that is two thirds of its time, measured by bench/booth_browser.py). No
 * part of it is kept, sent or reused; the voter's encryption draws its own seed.
 */
function warmUp(ctx) {
  const secret = new Uint8Array(16);
  crypto.getRandomValues(secret);
  encryptFromSeed(ctx, new Credential(secret), new Array(ctx.subjects).fill(0), newSeed());
}

function handle(msg, post) {
  if (!msg || typeof msg !== "object") throw new TallyError("request", "a message is an object");
  if (msg.type === "context") {
    kept = null;
    kept = pollContext(msg.manifest);
    warmUp(kept);
    post({ type: "context" });
    return;
  }
  if (msg.type === "credential") {
    const { credential } = openSlip(msg.manifest, msg.code);
    post({ type: "credential", public_key: credential.publicKeyHex });
    return;
  }
  if (msg.type === "encrypt") {
    last = null;
    const { ctx, credential } = openSlip(msg.manifest, msg.code);
    const seed = newSeed(); // fresh for every encryption: never one seed for two ballots
    const choices = msg.choices.map((c) => (c === undefined ? null : c));
    const { ballot, ciphertexts, commitment } = encryptFromSeed(ctx, credential, choices, seed, {
      onProgress: ({ done, total }) => post({ type: "progress", done, total }),
    });
    if (msg.verify) verifyBallot(ctx, ballot); // optional self-check (about 4x the time)
    last = { ctx, credential, seed, choices, ciphertexts, commitment };
    const hash = trackingHash(ballot);
    post({
      type: "done",
      ballot,
      tracking_code: trackingCode(hash),
      tracking_hash: toHex(hash),
      commitment,
    });
    return;
  }
  if (msg.type === "challenge") {
    if (!last) throw new TallyError("request", "nothing encrypted to challenge");
    const { ctx, credential, seed, choices, ciphertexts, commitment } = last;
    last = null;
    const file = challengeFile(ctx.fingerprintHex, seed, choices, commitment);
    post({
      type: "challenge",
      notice: makeNotice(ctx, credential, ciphertexts),
      file,
      qr_text: challengeQrText(file),
    });
    return;
  }
  if (msg.type === "forget") {
    last = null;
    post({ type: "forgotten" });
    return;
  }
  throw new TallyError("request", "unknown message type");
}

/** Runs one request; exported for tests, which drive it without a Worker. */
export function respond(msg, post) {
  try {
    handle(msg, post);
  } catch (err) {
    post(errorMessage(kindOf(err)));
  }
}

// In a worker, answer the page; imported elsewhere (tests), do nothing.
const scope = globalThis;
if (typeof scope.WorkerGlobalScope !== "undefined" && scope instanceof scope.WorkerGlobalScope) {
  scope.addEventListener("message", (event) => respond(event.data, (m) => scope.postMessage(m)));
}
