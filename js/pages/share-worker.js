// A module Web Worker of the trustee page: opens the trustee's key file (scrypt) and computes the
// decryption share off the page's thread, so that the page answers while it works. The key file
// and the passphrase come from the page by postMessage (memory of this browser tab only); the
// opened key stays in this worker, which the page ends as soon as the share is made.
//
// Messages in:
//   {type: 'share', keyFile, passphrase, manifest, aggregate}  (the aggregate the page checked)
//       -> {type: 'progress', stage: 'opening', fraction}
//       -> {type: 'progress', stage: 'decrypting', done, total}
//       -> {type: 'done', share, publicKeyHex}
// On a failure: {type: 'error', kind: 'key-failed' | 'not-trustee' | 'failed', message}.
// Once loaded, before any answer: {type: 'ready'}.

import {
  decryptShare,
  decryptThresholdShare,
  openTrusteeKey,
  pollContext,
  thresholdKey,
} from "../trustee.js";

class Refusal extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

async function share({ keyFile, passphrase, manifest, aggregate }, post) {
  let key;
  try {
    key = await openTrusteeKey(keyFile, passphrase, {
      onProgress: (fraction) => post({ type: "progress", stage: "opening", fraction }),
    });
  } catch (err) {
    throw new Refusal("key-failed", err.message);
  }
  const onProgress = ({ done, total }) =>
    post({ type: "progress", stage: "decrypting", done, total });
  try {
    const ctx = pollContext(manifest);
    if (ctx.ceremony) {
      // Any k of n (docs/protocol.md 14.5): this trustee's share of the poll's secret, from the
      // ceremony the manifest carries and the key file; the manifest must name this key.
      const mine = ctx.trustees.find((t) => t.publicKeyHex === key.publicKeyHex);
      if (!mine || mine.signingKeyHex !== key.signingKeyHex)
        throw new Refusal("not-trustee", "this key is not one of the poll's trustees");
      const transcript = manifest.election.ceremony;
      const held = thresholdKey(ctx.ceremony, transcript.dealings, transcript.checks, key);
      return { share: decryptThresholdShare(held, aggregate, { onProgress }), key };
    }
    return { share: decryptShare(key, aggregate, manifest, { onProgress }), key };
  } catch (err) {
    // Not one of the poll's trustees, or (version 2) the manifest names another signing key.
    if (err && err.code === "trustee-key") throw new Refusal("not-trustee", err.message);
    throw err;
  }
}

const scope = globalThis;
scope.addEventListener("message", async (event) => {
  const post = (m) => scope.postMessage(m);
  try {
    if (!event.data || event.data.type !== "share") throw new Error("unknown message type");
    const { share: made, key } = await share(event.data, post);
    post({ type: "done", share: made, publicKeyHex: key.publicKeyHex });
  } catch (err) {
    const kind = err instanceof Refusal ? err.kind : "failed";
    post({ type: "error", kind, message: String(err && err.message) });
  }
});
scope.postMessage({ type: "ready" });
