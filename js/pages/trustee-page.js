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
// The work is done off the page's thread, so that it answers throughout: the board is verified
// as it arrives by one worker per core (js/verify-pool.js, js/pages/verify-worker.js), with the
// ballots checked of those expected and the time left shown; the key is opened and the share
// computed by another worker (js/pages/share-worker.js).
//
// No inline script anywhere (a strict CSP): this is an ES module, and its user-visible texts come
// from the page (`#messages [data-msg]`, translated there by Flask-Babel).

import { canonicalJsonText, countHead, parseJson, trackingCode } from "../trustee.js";
import { verifyInWorkers, workerCount } from "../verify-pool.js";

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
  return (await fetchResponse(url)).text();
}

// The response once it is known to be good; its body is read by the caller (the board as a stream).
async function fetchResponse(url) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  } catch (err) {
    throw new PageError(`${text("fetch-failed")} ${url}: ${err.message}`);
  }
  if (!response.ok) {
    const body = await response.text();
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
  return response;
}

// One request to a fresh module worker: resolves with its answer ('done' or 'error'), passing
// its progress messages on; the worker is ended afterwards.
function inWorker(url, message, onProgress) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { type: "module" });
    worker.onerror = (event) => {
      worker.terminate();
      reject(new PageError(`${text("failed")} ${(event && event.message) || url}`));
    };
    worker.onmessage = (event) => {
      const data = event.data;
      if (data.type === "ready") worker.postMessage(message);
      else if (data.type === "progress") onProgress(data);
      else {
        worker.terminate();
        resolve(data);
      }
    };
  });
}

function seconds(ms) {
  return String(Math.max(1, Math.round(ms / 1000)));
}

// "Checked n of N ballots, about s seconds left", with a progress bar: updated after every piece.
function progressLine() {
  const li = step(text("recomputing"));
  const bar = document.createElement("progress");
  const label = document.createElement("span");
  li.replaceChildren(label, document.createElement("br"), bar);
  label.textContent = text("recomputing");
  return ({ done, expected, elapsed }) => {
    const total = Math.max(expected, done);
    bar.max = Math.max(total, 1);
    bar.value = done;
    const left = done > 0 && total > done ? (elapsed / done) * (total - done) : 0;
    let line = text("checked").replace("{done}", String(done)).replace("{total}", String(total));
    if (left > 0) line += ` · ${text("time-left").replace("{seconds}", seconds(left))}`;
    label.textContent = line;
  };
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
  const [manifestText, aggregateText, voidsText, paperText] = await Promise.all([
    fetchBody(section.dataset.manifestUrl),
    fetchBody(section.dataset.aggregateUrl),
    fetchBody(section.dataset.voidsUrl),
    fetchBody(section.dataset.paperUrl),
  ]);
  const manifest = parseJson(manifestText);
  const published = parseJson(aggregateText);
  const paperLines = paperText.split("\n").filter((l) => l !== "").length;
  const ballotsResponse = await fetchResponse(section.dataset.ballotsUrl);

  // Every board line (index, tracking hash, chain), every ballot (proofs, credential listed and
  // used once), the paper ballots the committee entered (13.3: each signed by a trustee, no more
  // than the slips voided for paper) and their one sum: the head and the aggregate from the
  // ballots themselves. The ballots are verified by workers, one per core, as the board arrives.
  const show = progressLine();
  let checked;
  let head;
  let codes = [];
  try {
    checked = await verifyInWorkers({
      manifest,
      response: ballotsResponse,
      voidsText,
      paperText,
      workerUrl: section.dataset.workerUrl,
      expected: Math.max(0, Number(published.ballot_count) - paperLines) || 0,
      onProgress: show,
      workers: workerCount(),
    });
    const paper = checked.paper;
    // The head typed from the room: the board head at close, or with paper ballots the count
    // head read out once they were entered (13.3): a subset of them gives another head.
    head = countHead(checked.head, paper.ballots.map((b) => b.trackingHash), paper.voided);
    // The paper ballots summed here, by their tracking codes, to compare with those written on
    // the paper ballots (computed here, not taken from the server).
    codes = paper.ballots.map((b) => trackingCode(b.trackingHash)).sort();
  } catch (err) {
    throw new PageError(`${text("board-invalid")} (${err.message})`);
  }
  const aggregate = checked.aggregate;
  if (codes.length) step(`${text("paper-codes")} ${codes.join(", ")}`);
  if (head !== expected || aggregate.board_head !== checked.head) {
    throw new PageError(text("head-mismatch"));
  }
  if (canonicalJsonText(aggregate) !== canonicalJsonText(published)) {
    throw new PageError(text("aggregate-mismatch"));
  }
  step(text("board-ok"), "ok");

  // The key is opened and the share computed in a worker (js/pages/share-worker.js), so that
  // the page answers meanwhile; the worker is ended once it has answered.
  const opening = step(text("opening-key"));
  let decrypting = null;
  const passphrase = passInput.value;
  passInput.value = "";
  const made = await inWorker(
    section.dataset.shareWorkerUrl,
    { type: "share", keyFile, passphrase, manifest, aggregate },
    (data) => {
      if (data.stage === "opening") {
        opening.textContent = `${text("opening-key")} ${Math.round(data.fraction * 100)} %`;
      } else {
        if (!decrypting) decrypting = step(text("decrypting"));
        decrypting.textContent = `${text("decrypting")} ${data.done} / ${data.total}`;
      }
    },
  );
  if (made.type === "error") {
    if (made.kind === "key-failed") throw new PageError(`${text("key-failed")} (${made.message})`);
    if (made.kind === "not-trustee")
      throw new PageError(`${text("not-trustee")} (${made.message})`);
    throw new PageError(`${text("failed")} ${made.message}`);
  }
  const share = made.share;
  const key = { publicKeyHex: made.publicKeyHex };

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
