// Timing of the booth's work in Node: encrypt + prove + sign a ballot of 15 and 50 subjects x 4
// grades for the test-vector poll (tests/vectors/ballot.json, subjects repeated), then verify.
//   node js/bench.mjs [subjects...]
import fs from "node:fs";
import {
  encryptBallot,
  verifyBallot,
  pollContext,
  trackingCode,
  trackingHash,
} from "./tally/index.js";

const vectors = new URL("../tests/vectors/", import.meta.url);
const base = JSON.parse(fs.readFileSync(new URL("ballot.json", vectors), "utf8")).manifest;
const code = JSON.parse(fs.readFileSync(new URL("credentials.json", vectors), "utf8"))
  .credentials[0].code;

function manifestWith(subjects, allowBlank) {
  const m = structuredClone(base);
  const proto = m.election.subjects[1];
  m.election.subjects = Array.from({ length: subjects }, (_, i) => ({ ...proto, key: `s-${i}` }));
  m.election.allow_blank = allowBlank;
  m.election.rules.allow_blank = allowBlank;
  return m;
}

const counts = process.argv.slice(2).map(Number);
for (const subjects of counts.length ? counts : [15, 50]) {
  for (const allowBlank of [false, true]) {
    const manifest = manifestWith(subjects, allowBlank);
    const choices = Array.from({ length: subjects }, (_, i) => i % 4);
    const runs = [];
    let result;
    for (let k = 0; k < 6; k++) {
      const m = structuredClone(manifest); // a fresh object: the poll context is not cached
      const t0 = performance.now();
      result = encryptBallot(m, code, choices);
      runs.push(performance.now() - t0);
    }
    const t1 = performance.now();
    verifyBallot(manifest, result.ballot);
    const verifyMs = performance.now() - t1;
    const first = runs[0].toFixed(0);
    const rest = runs.slice(1).sort((a, b) => a - b);
    const median = rest[Math.floor(rest.length / 2)].toFixed(0);
    console.log(
      `${subjects} subjects x 4 grades, blank ${allowBlank ? "allowed" : "refused"}: ` +
        `encrypt+prove+sign first ${first} ms, then median ${median} ms; verify ${verifyMs.toFixed(0)} ms ` +
        `(${trackingCode(trackingHash(result.ballot))})`,
    );
  }
}
void pollContext;
