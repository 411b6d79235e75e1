// Canonical JSON (docs/protocol.md 5.), as tally/canonical.py: the one byte encoding that is
// hashed and signed, a strict parser for documents from outside, and SHA-256.

import { sha256 } from "@noble/hashes/sha2.js";
import { HEX, fail, isWellFormed, toHex } from "./group.js";

const ENCODER = new TextEncoder();

/** Maximum nesting of canonical JSON, as tally/canonical.py (MAX_DEPTH). */
export const MAX_DEPTH = 32;

/** A JSON number with a fraction or exponent, kept by parseJson so canonicalJson can refuse it. */
export class JsonFloat {
  constructor(text) {
    this.text = text;
  }
}

// UTF-16 code unit order differs from code point order only between surrogates (U+D800-DFFF,
// which stand for code points above U+FFFF) and U+E000-FFFF; remap so surrogates sort last.
function unitRank(c) {
  if (c >= 0xd800 && c <= 0xdfff) return c + 0x2000;
  if (c >= 0xe000) return c - 0x800;
  return c;
}

/** Compare strings by Unicode code point (Python's order), not by UTF-16 code unit. */
export function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unitRank(x) - unitRank(y);
  }
  return a.length - b.length;
}

function escapeString(s) {
  if (!isWellFormed(s)) fail("canonical", "text must be valid Unicode (no lone surrogates)");
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const c = s.charCodeAt(i);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c < 0x20) out += "\\u00" + HEX[c];
    else out += ch; // '/', DEL, U+2028/2029 and all non-ASCII text raw (5.)
  }
  return out + '"';
}

export function isPlainObject(v) {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function writeCanonical(v, depth, out) {
  if (depth > MAX_DEPTH) fail("canonical", `JSON nested deeper than ${MAX_DEPTH} levels`);
  if (v === null) out.push("null");
  else if (v === true) out.push("true");
  else if (v === false) out.push("false");
  else if (typeof v === "string") out.push(escapeString(v));
  else if (typeof v === "bigint") out.push(v.toString());
  else if (typeof v === "number") {
    if (!Number.isInteger(v))
      fail("canonical", "floating-point numbers are not allowed in canonical JSON");
    // Above 2^53 a double has already lost digits: such integers must arrive as BigInt.
    if (!Number.isSafeInteger(v))
      fail("canonical", "an integer beyond 2^53 must be a BigInt (parseJson keeps it exact)");
    out.push(String(v)); // -0 prints "0", as Python's int does
  } else if (v instanceof JsonFloat) {
    fail("canonical", "floating-point numbers are not allowed in canonical JSON");
  } else if (Array.isArray(v)) {
    out.push("[");
    v.forEach((item, i) => {
      if (i) out.push(",");
      writeCanonical(item, depth + 1, out);
    });
    out.push("]");
  } else if (isPlainObject(v)) {
    const keys = Object.keys(v).sort(compareCodePoints);
    out.push("{");
    keys.forEach((k, i) => {
      if (i) out.push(",");
      out.push(escapeString(k), ":");
      writeCanonical(v[k], depth + 1, out);
    });
    out.push("}");
  } else {
    fail("canonical", `type ${typeof v} is not allowed in canonical JSON`);
  }
}

/**
 * Canonical JSON as UTF-8 bytes (5.): keys sorted by code point, no whitespace, non-ASCII raw,
 * only " \ and control characters escaped, integers only (Number up to 2^53, or BigInt).
 */
export function canonicalJson(value) {
  const out = [];
  writeCanonical(value, 0, out);
  return ENCODER.encode(out.join(""));
}

/** canonicalJson as a string. */
export function canonicalJsonText(value) {
  return new TextDecoder().decode(canonicalJson(value));
}

/**
 * A strict JSON parser for documents from outside (as tally.canonical.parse_json): RFC 8259
 * grammar, no duplicate keys, nesting at most MAX_DEPTH, integers kept exact (Number when safe,
 * BigInt beyond 2^53), numbers with a fraction or exponent returned as JsonFloat.
 */
export function parseJson(text) {
  if (typeof text !== "string") {
    if (text instanceof Uint8Array) text = new TextDecoder("utf-8", { fatal: true }).decode(text);
    else fail("json", "JSON text expected");
  }
  let i = 0;
  const bad = (what) => fail("json", `invalid JSON at character ${i}: ${what}`);
  const ws = () => {
    while (i < text.length) {
      const c = text[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") i++;
      else break;
    }
  };
  const str = () => {
    i++; // opening quote
    let out = "";
    for (;;) {
      if (i >= text.length) bad("unterminated string");
      const c = text[i];
      const code = text.charCodeAt(i);
      if (c === '"') {
        i++;
        return out;
      }
      if (code < 0x20) bad("control character in a string");
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      i += 2;
      if (e === '"' || e === "\\" || e === "/") out += e;
      else if (e === "b") out += "\b";
      else if (e === "f") out += "\f";
      else if (e === "n") out += "\n";
      else if (e === "r") out += "\r";
      else if (e === "t") out += "\t";
      else if (e === "u") {
        const h = text.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(h)) bad("bad \\u escape");
        out += String.fromCharCode(parseInt(h, 16));
        i += 4;
      } else bad("bad escape");
    }
  };
  const value = (depth) => {
    if (depth > MAX_DEPTH) fail("json", `JSON nested deeper than ${MAX_DEPTH} levels`);
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj = {};
      const seen = new Set();
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') bad("object key expected");
        const key = str();
        if (seen.has(key)) fail("json", "an object has the same key twice");
        seen.add(key);
        ws();
        if (text[i] !== ":") bad("':' expected");
        i++;
        // defineProperty: a key "__proto__" is an ordinary key, not the prototype setter.
        Object.defineProperty(obj, key, {
          value: value(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return obj;
        } else bad("',' or '}' expected");
      }
    }
    if (c === "[") {
      i++;
      const arr = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return arr;
        } else bad("',' or ']' expected");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 1000));
    if (!m || m[0] === "" || m[0] === "-") bad("value expected");
    i += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new JsonFloat(m[0]);
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  };
  const result = value(0);
  ws();
  if (i !== text.length) bad("trailing characters");
  return result;
}

/** SHA-256 of bytes, as bytes. */
export function sha256Bytes(data) {
  return sha256(data);
}

/** SHA-256 of bytes, as lowercase hex. */
export function sha256Hex(data) {
  return toHex(sha256(data));
}
