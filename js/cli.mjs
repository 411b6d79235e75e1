// A JSON-in, JSON-out door to js/tally/ for tests in other languages (tests/test_js_crypto.py):
// one request object on standard input, one answer object on standard output. Secrets (the slip
// code, a passphrase) travel on stdin, never in the command line.
//
//   echo '{"op": "encrypt", "manifest": {...}, "code": "...", "choices": [0, null]}' | node js/cli.mjs
//
// ops:
//   encrypt   {manifest, code, choices}            -> {ballot, randomness, tracking_hash, tracking_code}
//   verify    {manifest, ballot}                   -> {ok, tracking_hash | error}
//   challenge {manifest, ballot, choices, randomness} -> {ok}
//   aggregate {manifest, ballots}                  -> {aggregate}      (every ballot verified)
//   decrypt   {manifest, key_file, passphrase, aggregate} -> {share}
//   verify_share {aggregate, trustee, share}       -> {ok, error?}
//   verify_signatures {items: [[public_key, signature, message] (hex)]} -> {results: [bool]}
//   booth     {message}                            -> {replies: [...]}  (the booth's worker,
//             js/pages/booth-worker.js, answering one message as it answers the page)
// A refused request prints {"error": message} and exits 1.

import {
  aggregateFromBallots,
  checkChallenge,
  decryptShare,
  encryptBallot,
  fromHex,
  openTrusteeKey,
  parseJson,
  toHex,
  trackingCode,
  trackingHash,
  countHead,
  makePaperBallot,
  makeVoid,
  readPaper,
  verifyBallot,
  verifyShare,
  verifySignature,
} from "./tally/index.js";
import { respond } from "./pages/booth-worker.js";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

async function run(req) {
  switch (req.op) {
    case "encrypt": {
      const { ballot, randomness } = encryptBallot(req.manifest, req.code, req.choices);
      const hash = trackingHash(ballot);
      return { ballot, randomness, tracking_hash: toHex(hash), tracking_code: trackingCode(hash) };
    }
    case "verify":
      try {
        return {
          ok: true,
          tracking_hash: toHex(verifyBallot(req.manifest, req.ballot).trackingHash),
        };
      } catch (e) {
        return { ok: false, error: e.message };
      }
    case "challenge":
      return { ok: checkChallenge(req.manifest, req.ballot, req.choices, req.randomness) };
    case "aggregate": {
      let paper = [];
      let voided = 0;
      if (req.paper !== undefined) {
        const read = readPaper(req.manifest, req.voids, req.paper, req.ballots.map((b) => b.credential));
        paper = read.ballots;
        voided = read.voided;
      }
      const aggregate = aggregateFromBallots(req.manifest, req.ballots, { paper });
      const head = countHead(aggregate.board_head, paper.map((b) => b.trackingHash), voided);
      return { aggregate, count_head: head };
    }
    case "void":
      return { void: makeVoid(req.manifest, req.code) };
    case "paper_ballot": {
      const key = await openTrusteeKey(req.key_file, req.passphrase);
      return { paper: makePaperBallot(req.manifest, key, req.choices) };
    }
    case "decrypt": {
      const key = await openTrusteeKey(req.key_file, req.passphrase);
      return { share: decryptShare(key, req.aggregate, req.manifest) };
    }
    case "verify_share":
      try {
        verifyShare(req.aggregate, req.trustee, req.share);
        return { ok: true };
      } catch (e) {
        return { ok: false, error: e.message };
      }
    case "verify_signatures":
      return {
        results: req.items.map(([pub, sig, msg]) =>
          verifySignature(fromHex(pub), fromHex(sig), fromHex(msg)),
        ),
      };
    case "booth": {
      const replies = [];
      respond(req.message, (m) => replies.push(m));
      return { replies };
    }
    default:
      throw new Error("unknown op");
  }
}

try {
  const answer = await run(parseJson(await readStdin()));
  process.stdout.write(JSON.stringify(answer) + "\n");
} catch (e) {
  process.stdout.write(JSON.stringify({ error: e.message }) + "\n");
  process.exitCode = 1;
}
