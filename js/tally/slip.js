// The slip payload tally-slip/1 (docs/protocol.md), as tally/slips.py parse_slip_payload: what the
// booth's camera reads from a slip's QR code. "TALLY-SLIP/1:" + the poll uid (32 hex digits,
// either case) + ":" + the credential code (26 base32 characters, the 2 unused bits zero).
//
// No import: the booth page bundles this module on its own, without the group arithmetic. The
// code check is the typed code's rule (credentials.js parseCredentialCode), on the strict form a
// printed slip carries (uppercase, no dashes); js/test/slip.test.mjs compares the two.

export const SLIP_PREFIX = "TALLY-SLIP/1:";

// Only ASCII whitespace, as the Python reader: both agree on every text.
const SPACE = /^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g;
const UID = /^[0-9A-Fa-f]{32}$/;
const CODE = /^[A-Z2-7]{26}$/;
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A scanned text that is not a slip (kind "not-slip") or a damaged slip ("bad-slip"). */
export class SlipError extends Error {
  /** @param {"not-slip" | "bad-slip"} kind @param {string} message */
  constructor(kind, message) {
    super(message); // never the text itself: a slip's payload holds its secret code
    this.name = "SlipError";
    this.kind = kind;
  }
}

/**
 * The poll and code of a scanned slip: {pollUid (lowercase hex), code (26 characters, no
 * dashes)}. Throws a SlipError for any other text.
 * @param {string} text
 */
export function parseSlipPayload(text) {
  const body = typeof text === "string" ? text.replace(SPACE, "") : "";
  if (!body.startsWith(SLIP_PREFIX)) throw new SlipError("not-slip", "not a tally slip");
  const fields = body.slice(SLIP_PREFIX.length).split(":");
  // 26 characters of 5 bits carry the 128-bit secret: the last one's 2 low bits are unused.
  if (
    fields.length !== 2 ||
    !UID.test(fields[0]) ||
    !CODE.test(fields[1]) ||
    (B32.indexOf(fields[1][25]) & 3) !== 0
  )
    throw new SlipError("bad-slip", "a damaged or incomplete slip");
  return { pollUid: fields[0].toLowerCase(), code: fields[1] };
}
