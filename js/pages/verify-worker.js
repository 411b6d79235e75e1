// A module Web Worker of the trustee page: verifies pieces of the board (ballots.jsonl) and the
// paper files off the page's thread, one worker per core (js/pages/verify-pool.js).
//
//   new Worker('/static/build/verify-worker.js', {type: 'module'})
//
// Messages in:
//   {type: 'context', id, manifest}
//       -> {type: 'context', id, fingerprint, credentials, subjects, grades} (the manifest checked)
//   {type: 'lines', id, manifest?, first, lines: [text]}
//       -> {type: 'lines', id, trackings, chains, credentials, sums: [[[a, b]]]}, each point as its
//          coordinates
//       (checkLines of js/tally/board-check.js; the manifest comes with the first piece only)
//   {type: 'paper', id, manifest?, voids, paper, credentials}
//       -> {type: 'paper', id, voided, ballots: [{trackingHash (bytes), ciphertexts: [[[a, b]]]}]}
// On a failure: {type: 'error', id, message} (the check's own words: the board is public).
// Once loaded, before any answer: {type: 'ready'} (the pool posts nothing before it).

import { checkLines, pollContext, readPaper, sumsToWire } from "../tally/index.js";

let ctx = null;

function handle(msg) {
  if (msg.manifest) ctx = pollContext(msg.manifest);
  if (!ctx) throw new Error("no manifest");
  if (msg.type === "context") {
    // What the page's BoardAccumulator needs of the poll, so that the page does not parse the
    // manifest itself (its credential list has a key per slip: a long task on a slow tablet).
    return {
      type: "context",
      id: msg.id,
      fingerprint: ctx.fingerprint,
      credentials: ctx.credentials,
      subjects: ctx.subjects,
      grades: ctx.grades,
    };
  }
  if (msg.type === "lines") {
    const piece = checkLines(ctx, msg.first, msg.lines);
    return { type: "lines", id: msg.id, ...piece, sums: sumsToWire(piece.sums) };
  }
  if (msg.type === "paper") {
    const checked = readPaper(ctx, msg.voids, msg.paper, msg.credentials);
    return {
      type: "paper",
      id: msg.id,
      voided: checked.voided,
      ballots: checked.ballots.map((b) => ({
        trackingHash: b.trackingHash,
        ciphertexts: sumsToWire(b.ciphertexts),
      })),
    };
  }
  throw new Error("unknown message type");
}

const scope = globalThis;
scope.addEventListener("message", (event) => {
  let answer;
  try {
    answer = handle(event.data);
  } catch (err) {
    const id = event.data && event.data.id;
    answer = { type: "error", id, message: String(err && err.message) };
  }
  scope.postMessage(answer);
});
scope.postMessage({ type: "ready" });
