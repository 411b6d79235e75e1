// The paper-ballot page (templates/counting/paper.html): a trustee enters the paper ballots after
// close, one at a time, in the browser (docs/protocol.md 13.3).
//
// The key file is read here with the File API and never sent; the passphrase never leaves this
// page, and the opened key stays in this page's memory only while the page is open. The choices
// marked on the paper ballot are encrypted and proved here under a one-time credential drawn from
// the OS; only the signed tally-paper-ballot/1 statement (ciphertexts, proofs, signatures) is
// POSTed. After each ballot the marks are cleared. No inline script (a strict CSP); the texts come
// from the page (`#messages [data-msg]`, translated there by Flask-Babel).

import {
  canonicalJsonText,
  makePaperBallot,
  openTrusteeKey,
  parseJson,
  pollContext,
  trackingCode,
  trackingHash,
} from "../trustee.js";

const section = document.getElementById("in-browser");
const keyInput = document.getElementById("key-file");
const passInput = document.getElementById("passphrase");
const openButton = document.getElementById("open-key");
const keyState = document.getElementById("key-state");
const form = document.getElementById("paper-choices");
const enterButton = document.getElementById("enter-paper");
const progress = document.getElementById("progress");

class PageError extends Error {}

let key = null;
let ctx = null;

function text(name) {
  const node = section.querySelector(`#messages [data-msg="${name}"]`);
  return node ? node.textContent.trim() : name;
}

function step(message, state = "") {
  const li = document.createElement("li");
  li.textContent = message;
  if (state) li.className = state;
  progress.append(li);
  return li;
}

function paint() {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

function serverMessage(body, fallback) {
  const error = body && body.error;
  if (error && (error.message_vi || error.message_en))
    return `${error.message_vi || ""} / ${error.message_en || ""}`;
  return fallback;
}

async function manifestContext() {
  let response;
  try {
    response = await fetch(section.dataset.manifestUrl, { credentials: "omit", cache: "no-store" });
  } catch (err) {
    throw new PageError(`${text("fetch-failed")} ${err.message}`);
  }
  if (!response.ok) throw new PageError(`${text("fetch-failed")} HTTP ${response.status}`);
  return pollContext(parseJson(await response.text()));
}

async function openKey() {
  progress.replaceChildren();
  const file = keyInput.files && keyInput.files[0];
  if (!file) throw new PageError(text("need-key"));
  if (!passInput.value) throw new PageError(text("need-passphrase"));
  let keyFile;
  try {
    keyFile = parseJson(await file.text());
  } catch {
    throw new PageError(text("bad-key-file"));
  }
  ctx = await manifestContext();
  const opening = step(text("opening-key"));
  await paint();
  let opened;
  try {
    opened = await openTrusteeKey(keyFile, passInput.value, {
      onProgress: (fraction) => {
        opening.textContent = `${text("opening-key")} ${Math.round(fraction * 100)} %`;
      },
    });
  } catch (err) {
    throw new PageError(`${text("key-failed")} (${err.message})`);
  } finally {
    passInput.value = "";
  }
  const mine = ctx.trustees.find(
    (t) => t.publicKeyHex === opened.publicKeyHex && t.signingKeyHex === opened.signingKeyHex,
  );
  if (!mine) throw new PageError(text("not-trustee"));
  key = opened;
  keyState.textContent = `${text("key-open")} ${mine.name}`;
  form.hidden = false;
}

function markedChoices() {
  const choices = [];
  for (const row of form.querySelectorAll("tr[data-subject]")) {
    const marked = row.querySelector("input[type=radio]:checked");
    if (!marked) throw new PageError(text("need-all"));
    choices.push(marked.value === "blank" ? null : Number(marked.value));
  }
  return choices;
}

function setFact(id, value) {
  const node = document.getElementById(id);
  if (node && value !== undefined) node.textContent = String(value);
}

async function enter() {
  progress.replaceChildren();
  const choices = markedChoices();
  step(text("encrypting"));
  await paint();
  const document_ = makePaperBallot(ctx, key, choices);
  // Computed here, not taken from the server: the code the committee writes on the paper ballot
  // and later finds in the list the count head is read with (13.3).
  const code = trackingCode(trackingHash(document_.ballot));
  choices.fill(null);
  form.reset(); // the marks are gone before anything is sent
  const response = await fetch(section.dataset.paperUrl, {
    method: "POST",
    credentials: "omit", // the statement is its own authority; no cookie goes with it
    headers: { "Content-Type": "application/json" },
    body: canonicalJsonText(document_),
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status
  }
  if (response.status === 201 && body) {
    step(`${text("accepted")} ${body.paper_ballots} / ${body.voided_for_paper}`, "ok");
    step(`${text("write-code")} ${code}`, "ok code");
    setFact("paper-entered", body.paper_ballots);
    setFact("paper-room", body.room);
  } else {
    step(`${text("refused")} ${serverMessage(body, `HTTP ${response.status}`)}`, "fail");
  }
}

function guarded(action, button) {
  return async (event) => {
    if (event) event.preventDefault();
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      const message = err instanceof PageError ? err.message : `${text("failed")} ${err.message}`;
      step(message, "fail");
    } finally {
      button.disabled = false;
    }
  };
}

openButton.addEventListener("click", guarded(openKey, openButton));
form.addEventListener("submit", guarded(enter, enterButton));
section.hidden = false;
