// The key ceremony page (templates/counting/ceremony.html): a trustee's dealing or check,
// computed in the browser (docs/protocol.md 9.4), as `tally trustee deal` and `check` do.
//
// The key file is read here with the File API and never sent; the passphrase never leaves this
// page. The ceremony is fetched from the server and checked: every trustee's published key and
// proof, and the ceremony digest must be the one this page shows (which the committee compares
// on paper). Only the signed dealing (its shares encrypted to each trustee) or the signed check
// is POSTed, as JSON; the server checks it again.

import {
  canonicalJsonText,
  makeCeremony,
  makeCheck,
  makeDealing,
  openTrusteeKey,
  parseJson,
  parseTrusteePublic,
  toHex,
} from "../trustee.js";

const section = document.getElementById("in-browser");
const keyInput = document.getElementById("key-file");
const passInput = document.getElementById("passphrase");
const button = document.getElementById("ceremony-step");
const progress = document.getElementById("progress");
const result = document.getElementById("browser-result");
const shownDigest = document.getElementById("digest").textContent.replace(/\s/g, "");

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

function paint() {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

function serverMessage(body, fallback) {
  const error = body && body.error;
  if (error && (error.message_vi || error.message_en))
    return [error.message_vi, error.message_en].filter(Boolean).join(" / ");
  return fallback;
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

async function run() {
  progress.replaceChildren();
  result.replaceChildren();
  const keyFile = await readKeyFile();
  if (!passInput.value) throw new PageError(text("need-passphrase"));
  step(text("fetching"));
  let state;
  try {
    const response = await fetch(section.dataset.ceremonyUrl, { credentials: "omit" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    state = parseJson(await response.text());
  } catch (err) {
    throw new PageError(`${text("fetch-failed")} ${err.message}`);
  }
  const c = state.ceremony;
  const ceremony = makeCeremony(
    c.uid,
    c.threshold,
    c.trustees.map((t) => parseTrusteePublic(t)),
  );
  if (toHex(ceremony.digest) !== shownDigest) throw new PageError(text("digest-changed"));

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
  if (!ceremony.trustees.some((t) => t.publicKeyHex === key.publicKeyHex && t.signingKeyHex === key.signingKeyHex))
    throw new PageError(text("not-trustee"));

  let message;
  let target;
  if (state.state === "dealing") {
    step(text("dealing"));
    await paint();
    message = makeDealing(ceremony, key);
    target = section.dataset.dealingsPost;
  } else {
    step(text("checking"));
    await paint();
    message = makeCheck(ceremony, key, state.dealings);
    for (const complaint of message.complaints)
      step(`${text("complaint")} ${ceremony.trustees[complaint.dealer - 1].name}`, "fail");
    if (!message.complaints.length) step(text("all-good"), "ok");
    target = section.dataset.checksPost;
  }
  step(text("sending"));
  const response = await fetch(target, {
    method: "POST",
    credentials: "omit", // the message is its own authority; no cookie goes with it
    headers: { "Content-Type": "application/json" },
    body: canonicalJsonText(message),
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
    box.id = "ceremony-accepted";
    box.textContent = `${text("accepted")} ${text(`state-${body.state}`)}`;
    const row = document.querySelector(`#ceremony-trustees tr[data-index="${body.trustee}"]`);
    const cell = row && row.querySelector(state.state === "dealing" ? ".dealt" : ".checked");
    if (cell) cell.textContent = `✔ ${text("received")}`;
  } else {
    box.className = "refused";
    box.textContent = `${text("refused")} ${serverMessage(body, `HTTP ${response.status}`)}`;
  }
  result.append(box);
}

button.addEventListener("click", async () => {
  button.disabled = true;
  try {
    await run();
  } catch (err) {
    const message = err instanceof PageError ? err.message : `${text("failed")} ${err.message}`;
    step(message, "fail");
  } finally {
    button.disabled = false;
  }
});

section.hidden = false;
