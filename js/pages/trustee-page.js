// The trustee page (templates/counting/trustee.html): check the board and compute this trustee's
// decryption share in the browser.
//
// The key file is read here with the File API and never sent anywhere; the passphrase never
// leaves this page. Before decrypting, the board is checked as `tally trustee decrypt` checks it:
// the aggregate and the board head are recomputed from the board's ballots and must equal the head
// the trustee types in (from the projector or the paper, never from the server: any prefix of a
// real board is itself a valid board, and decrypting a short prefix would reveal the first voters'
// choices) and the aggregate the server published. Only the share (public: the d values and their
// proofs) is POSTed, as JSON, to the page's share URL; the server checks it again.
//
// No inline script anywhere (a strict CSP): this is an ES module, and its user-visible texts come
// from the page (`#messages [data-msg]`, translated there by Flask-Babel).

import {
  aggregateFromBallots,
  canonicalJsonText,
  countHead,
  decryptShare,
  decryptThresholdShare,
  openTrusteeKey,
  parseJson,
  pollContext,
  readBoard,
  readPaper,
  thresholdKey,
  trackingCode,
} from "../trustee.js";

const section = document.getElementById("in-browser");
const keyInput = document.getElementById("key-file");
const passInput = document.getElementById("passphrase");
const headInput = document.getElementById("expected-head");
const button = document.getElementById("compute-share");
const progress = document.getElementById("progress");
const result = document.getElementById("browser-result");

const HEX64 = /^[0-9a-f]{64}$/;

class PageError extends Error {}

function text(key) {
  const node = section.querySelector(`#messages [data-msg="${key}"]`);
  return node ? node.textContent.trim() : key;
}

function step(message, state = "") {
  const li = document.createElement("li");
  li.textContent = message;
  if (state) li.className = state;
  progress.append(li);
  return li;
}

// Let the browser show the last progress line before a long computation blocks the page.
function paint() {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

function normaliseHead(value) {
  return value.replace(/[\s:-]/g, "").toLowerCase();
}

function serverMessage(body, fallback) {
  const error = body && body.error;
  if (error && (error.message_vi || error.message_en)) {
    return `${error.message_vi || ""} / ${error.message_en || ""}`;
  }
  return fallback;
}

async function fetchBody(url) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  } catch (err) {
    throw new PageError(`${text("fetch-failed")} ${url}: ${err.message}`);
  }
  const body = await response.text();
  if (!response.ok) {
    let parsed = null;
    try {
      parsed = JSON.parse(body);
    } catch {
      // not JSON: keep the status
    }
    throw new PageError(
      `${text("fetch-failed")} ${url}: ${serverMessage(parsed, `HTTP ${response.status}`)}`,
    );
  }
  return body;
}

async function readKeyFile() {
  const file = keyInput.files && keyInput.files[0];
  if (!file) throw new PageError(text("need-key"));
  try {
    return parseJson(await file.text());
  } catch {
    throw new PageError(text("bad-key-file"));
  }
}

function markReceived(publicKey) {
  for (const row of document.querySelectorAll("#trustees tr[data-public-key]")) {
    if (row.dataset.publicKey === publicKey) {
      row.className = "received";
      const cell = row.querySelector(".share-status");
      if (cell) cell.textContent = `✔ ${text("received")}`;
    }
  }
}

async function computeAndSend() {
  progress.replaceChildren();
  result.replaceChildren();

  const expected = normaliseHead(headInput.value);
  if (!HEX64.test(expected)) throw new PageError(text("need-head"));
  const keyFile = await readKeyFile();
  if (!passInput.value) throw new PageError(text("need-passphrase"));

  step(text("fetching"));
  const [manifestText, aggregateText, ballotsText, voidsText, paperText] = await Promise.all([
    fetchBody(section.dataset.manifestUrl),
    fetchBody(section.dataset.aggregateUrl),
    fetchBody(section.dataset.ballotsUrl),
    fetchBody(section.dataset.voidsUrl),
    fetchBody(section.dataset.paperUrl),
  ]);
  const manifest = parseJson(manifestText);
  const published = parseJson(aggregateText);

  step(text("recomputing"));
  await paint();
  // Every board line (index, tracking hash, chain), then every ballot (proofs, credential listed
  // and used once), the paper ballots the committee entered (13.3: each signed by a trustee, no
  // more than the slips voided for paper) and their one sum: the head and the aggregate from the
  // ballots themselves.
  let board;
  let aggregate;
  let head;
  let codes = [];
  try {
    board = readBoard(manifest, ballotsText);
    const paper = readPaper(
      manifest,
      voidsText,
      paperText,
      board.ballots.map((b) => b.credential),
    );
    aggregate = aggregateFromBallots(manifest, board.ballots, { paper: paper.ballots });
    // The head typed from the room: the board head at close, or with paper ballots the count
    // head read out once they were entered (13.3): a subset of them gives another head.
    head = countHead(board.head, paper.ballots.map((b) => b.trackingHash), paper.voided);
    // The paper ballots summed here, by their tracking codes, to compare with those written on
    // the paper ballots (computed here, not taken from the server).
    codes = paper.ballots.map((b) => trackingCode(b.trackingHash)).sort();
  } catch (err) {
    throw new PageError(`${text("board-invalid")} (${err.message})`);
  }
  if (codes.length) step(`${text("paper-codes")} ${codes.join(", ")}`);
  if (head !== expected || aggregate.board_head !== board.head) {
    throw new PageError(text("head-mismatch"));
  }
  if (canonicalJsonText(aggregate) !== canonicalJsonText(published)) {
    throw new PageError(text("aggregate-mismatch"));
  }
  step(text("board-ok"), "ok");

  const opening = step(text("opening-key"));
  await paint();
  let key;
  try {
    key = await openTrusteeKey(keyFile, passInput.value, {
      onProgress: (fraction) => {
        opening.textContent = `${text("opening-key")} ${Math.round(fraction * 100)} %`;
      },
    });
  } catch (err) {
    throw new PageError(`${text("key-failed")} (${err.message})`);
  } finally {
    passInput.value = "";
  }

  step(text("decrypting"));
  await paint();
  let share;
  try {
    const ctx = pollContext(manifest);
    if (ctx.ceremony) {
      // Any k of n (docs/protocol.md 14.5): this trustee's share of the poll's secret, from the
      // ceremony the manifest carries and the key file; the manifest must name this key.
      const mine = ctx.trustees.find((t) => t.publicKeyHex === key.publicKeyHex);
      if (!mine || mine.signingKeyHex !== key.signingKeyHex)
        throw Object.assign(new Error("this key is not one of the poll's trustees"), {
          code: "trustee-key",
        });
      const transcript = manifest.election.ceremony;
      const held = thresholdKey(ctx.ceremony, transcript.dealings, transcript.checks, key);
      share = decryptThresholdShare(held, aggregate);
    } else {
      share = decryptShare(key, aggregate, manifest);
    }
  } catch (err) {
    // Not one of the poll's trustees, or (version 2) the manifest names another signing key.
    if (err && err.code === "trustee-key")
      throw new PageError(`${text("not-trustee")} (${err.message})`);
    throw err;
  }

  step(text("sending"));
  const response = await fetch(section.dataset.shareUrl, {
    method: "POST",
    credentials: "omit", // the share is its own authority; no cookie goes with it
    headers: { "Content-Type": "application/json" },
    body: canonicalJsonText(share),
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status
  }
  const box = document.createElement("p");
  if (response.status === 201 && body) {
    box.className = "accepted";
    box.textContent = `${text("accepted")} ${body.trustee}`;
    markReceived(key.publicKeyHex);
  } else {
    box.className = "refused";
    box.textContent = `${text("refused")} ${serverMessage(body, `HTTP ${response.status}`)}`;
  }
  result.append(box);
}

button.addEventListener("click", async () => {
  button.disabled = true;
  try {
    await computeAndSend();
  } catch (err) {
    const message = err instanceof PageError ? err.message : `${text("failed")} ${err.message}`;
    step(message, "fail");
  } finally {
    button.disabled = false;
  }
});

section.hidden = false;
