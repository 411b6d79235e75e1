// The browser side of the `tally` protocol (docs/protocol.md), byte for byte compatible with the
// Python package tally/: group encodings, hashing, canonical JSON, exponential ElGamal, the three
// proofs, credentials, ballots (encrypt, sign, verify, Benaloh challenge), the board chain, the
// aggregate and the trustees' partial decryptions.
//
// The group arithmetic is @noble/curves' Ed25519 point; hashes, HKDF and scrypt are
// @noble/hashes; AES-256-GCM is @noble/ciphers (WebCrypto's crypto.subtle exists only in a secure
// context, and a conference LAN page served over plain http is not one). Section numbers in the
// comments refer to docs/protocol.md.
//
// Secrets (credential seeds, encryption randomness, trustee keys) never appear in an error
// message or a log line; the objects holding a secret keep it in a WeakMap, so JSON.stringify or
// console.log of them shows only public values.
//
// One module per module of tally/ that it mirrors (group.js for tally/group.py, and so on); this
// file re-exports their public API, which is what the booth's worker, the trustee page, the node
// tests and js/cli.mjs import. The helpers the modules share among themselves are not re-exported.

export {
  concatBytes,
  decodePoint,
  decodeScalar,
  encodePoint,
  encodeScalar,
  equalBytes,
  fromHex,
  G,
  hashToScalar,
  hashToScalarPreimage,
  IDENTITY,
  L,
  modL,
  mul,
  mulG,
  pointFromHex,
  pointHex,
  randomScalar,
  scalarFromHex,
  scalarHex,
  TallyError,
  toHex,
  u32,
  utf8,
} from "./group.js";
export {
  canonicalJson,
  canonicalJsonText,
  compareCodePoints,
  JsonFloat,
  MAX_DEPTH,
  parseJson,
  sha256Bytes,
  sha256Hex,
} from "./canonical.js";
export {
  addCiphertexts,
  ciphertextFromJson,
  ciphertextToJson,
  encrypt,
  ZERO_CIPHERTEXT,
} from "./elgamal.js";
export {
  csProofFromJson,
  csProofToJson,
  proveDleq,
  proveSchnorr,
  proveZeroOne,
  verifyDleq,
  verifySchnorr,
  verifyZeroOne,
  zeroOneCommitments,
  zeroOneProofFromJson,
  zeroOneProofToJson,
} from "./proofs.js";
export {
  _credentialSeed,
  base32,
  Credential,
  credentialCode,
  credentialCommitment,
  credentialPublicKey,
  parseCredentialCode,
  verifySignature,
} from "./credentials.js";
export {
  isValidEd25519Key,
  jointPublicKey,
  parseTrusteePublic,
  PUBLIC_FORMAT,
  PUBLIC_FORMAT_V2,
  TAG_KEY,
} from "./trustee-public.js";
export {
  CREDENTIAL_LIST_FORMAT,
  credentialListSignedBytes,
  GROUP,
  makeContext,
  MANIFEST_FORMAT,
  MANIFEST_FORMAT_V1,
  MANIFEST_FORMATS,
  manifestVersion,
  pollContext,
  pollFingerprint,
} from "./manifest.js";
export {
  _encryptBallotWith,
  BALLOT_FORMAT,
  checkChallenge,
  commitmentCode,
  commitmentHash,
  encryptBallot,
  encryptFromSeed,
  encryptWithCredential,
  newSeed,
  rebuildCiphertexts,
  SEED_BYTES,
  seedSource,
  signedBytes,
  TAG_CHOICE,
  TAG_SUM_ONE,
  TAG_SUM_ZERO_ONE,
  trackingCode,
  trackingHash,
  verifyBallot,
} from "./ballots.js";
export { boardGenesis, boardHead, boardNext, readBoard } from "./board.js";
export {
  aHash,
  CHALLENGE_FORMAT,
  ChallengeError,
  challengeFile,
  challengeQrText,
  checkChallengeFile,
  makeNotice,
  normalizeCommitment,
  NOTICE_FORMAT,
  parseChallengeText,
  QR_PREFIX,
} from "./challenge.js";
export {
  _trusteeKeyFromSecret,
  _trusteeSigningSeed,
  AGGREGATE_FORMAT,
  combineShares,
  decryptShare,
  KEY_FORMAT,
  makeAggregate,
  openTrusteeKey,
  parseAggregate,
  SHARE_FORMAT,
  SIGNING_INFO,
  TAG_DECRYPT,
  TrusteeKey,
  verifyShare,
} from "./trustees.js";
export { aggregateFromBallots } from "./counting.js";
export {
  BoardAccumulator,
  LineSplitter,
  checkLines,
  sumsFromWire,
  sumsToWire,
} from "./board-check.js";
export {
  PAPER_FORMAT,
  VOID_FORMAT,
  countHead,
  makePaperBallot,
  makeVoid,
  readPaper,
} from "./paper.js";
export { parseSlipPayload, SLIP_PREFIX, SlipError } from "./slip.js";
export {
  CEREMONY_FORMAT,
  CHECK_FORMAT,
  DEAL_FORMAT,
  SHARE_FORMAT_V2,
  combineThreshold,
  dealingsDigest,
  defaultThreshold,
  evaluateCeremony,
  lagrangeAtZero,
  makeCeremony,
  verifyThresholdShare,
} from "./dkg.js";
export { decryptThresholdShare, makeCheck, makeDealing, thresholdKey } from "./dkg-trustee.js";
