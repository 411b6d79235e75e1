// What the browser trustee page needs (docs/protocol.md 9.2, 13, 14): open the encrypted key file,
// recompute the aggregate from the board and compare its head with the one announced at close,
// then produce the partial decryption share. Imported by js/pages/trustee-page.js, bundled with it
// into ballot/static/build/trustee-page.js.
//
// Typical use:
//   const key = await openTrusteeKey(keyFileText, passphrase, {onProgress});
//   const {ballots, head} = readBoard(manifest, ballotsJsonlText);      // chain checked
//   if (head !== announcedHead) refuse();                                // from the projector/paper
//   const aggregate = aggregateFromBallots(manifest, ballots);          // every ballot verified
//   if (canonicalJsonText(aggregate) !== canonicalJsonText(serverAggregate)) refuse();
//   const share = decryptShare(key, aggregate, manifest, {onProgress});

export {
  TallyError,
  TrusteeKey,
  openTrusteeKey,
  decryptShare,
  verifyShare,
  combineShares,
  boardHead,
  readBoard,
  aggregateFromBallots,
  parseAggregate,
  pollContext,
  pollFingerprint,
  canonicalJson,
  canonicalJsonText,
  parseJson,
  sha256Hex,
  toHex,
  fromHex,
  trackingHash,
  trackingCode,
  makeCeremony,
  evaluateCeremony,
  makeDealing,
  makeCheck,
  thresholdKey,
  decryptThresholdShare,
  parseTrusteePublic,
  pointHex,
  makePaperBallot,
  makeVoid,
  readPaper,
  countHead,
  Credential,
  BoardAccumulator,
  LineSplitter,
  sumsFromWire,
} from "./tally/index.js";

import { canonicalJson, pollFingerprint, sha256Hex, toHex } from "./tally/index.js";

/** hex SHA-256 of the canonical JSON of a value (the aggregate_sha256 of a share, 14.2). */
export function canonicalSha256Hex(value) {
  return sha256Hex(canonicalJson(value));
}

/** The poll fingerprint of a manifest, hex (11.2). */
export function fingerprintHex(manifest) {
  return toHex(pollFingerprint(manifest.election));
}
