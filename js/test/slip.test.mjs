// The slip payload vectors (tests/vectors/slip_payload.json, made by tally/slips.py) against
// js/tally/slip.js: the same poll and code from every slip, the same verdict on every other text.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import * as T from "../tally/index.js";
import { parseSlipPayload, SlipError } from "../tally/slip.js";

const V = JSON.parse(
  fs.readFileSync(new URL("../../tests/vectors/slip_payload.json", import.meta.url), "utf8"),
);

test("slip payload: the prefix, and the module is the one the tally bundle exports", () => {
  assert.equal(V.prefix, T.SLIP_PREFIX);
  assert.equal(T.parseSlipPayload, parseSlipPayload);
});

test("slip payload: every valid payload gives its poll uid and code", () => {
  for (const c of V.valid) {
    assert.deepEqual(parseSlipPayload(c.payload), { pollUid: c.poll_uid, code: c.code }, c.name);
    // The code is the credential the typed code would give.
    assert.equal(T.Credential.fromCode(c.code).code.replaceAll("-", ""), c.code, c.name);
  }
});

test("slip payload: every other text is refused with its kind, never quoting it", () => {
  for (const c of V.invalid) {
    assert.throws(
      () => parseSlipPayload(c.payload),
      (e) => {
        assert.ok(e instanceof SlipError && e instanceof Error, c.name);
        assert.equal(e.kind, c.kind, c.name);
        const text = c.payload.trim();
        assert.ok(!text || !e.message.includes(text), c.name);
        return true;
      },
    );
  }
  for (const value of [undefined, null, 42, {}]) {
    assert.throws(() => parseSlipPayload(value), { kind: "not-slip" });
  }
});

test("slip payload: the code check is the typed code's rule on the strict form", () => {
  // Every bad-slip code of 26 uppercase base32 characters is one parseCredentialCode refuses too
  // (the unused bits), and every accepted one it accepts.
  const codeOf = (p) => p.trim().split(":").at(-1);
  for (const c of V.valid) assert.doesNotThrow(() => T.parseCredentialCode(codeOf(c.payload)));
  const nonCanonical = V.invalid.find((c) => c.name === "unused bits not zero");
  assert.throws(() => T.parseCredentialCode(codeOf(nonCanonical.payload)), { code: "code" });
  // All 32 last characters: the slip reader and the typed-code parser agree on each.
  const stem = V.valid[0].code.slice(0, 25);
  for (const last of "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") {
    let typed = true;
    try {
      T.parseCredentialCode(stem + last);
    } catch {
      typed = false;
    }
    let slip = true;
    try {
      parseSlipPayload(`${T.SLIP_PREFIX}${V.valid[0].poll_uid}:${stem}${last}`);
    } catch (e) {
      assert.equal(e.kind, "bad-slip");
      slip = false;
    }
    assert.equal(slip, typed, last);
  }
});
