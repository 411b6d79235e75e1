// The operator's void of a slip for paper (templates/operator/poll.html, docs/protocol.md 13.3).
//
// The member hands in their slip; the operator types its code here. This page derives the slip's
// key from the code and signs a tally-void/1 statement with it: only the statement (public key
// and signature) is submitted, never the code. The code field has no name, so the form never
// sends it, and it is cleared before submitting. No inline script (a strict CSP).

import { Credential, makeVoid, parseJson, pollContext } from "../trustee.js";

const form = document.getElementById("void-form");
const codeInput = document.getElementById("void-code");
const statementInput = document.getElementById("void-statement");
const fileInput = document.getElementById("void-file");
const errorBox = document.getElementById("void-error");

function text(name) {
  const node = form.querySelector(`#void-messages [data-msg="${name}"]`);
  return node ? node.textContent.trim() : name;
}

function show(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

let ctx = null;

async function context() {
  if (ctx) return ctx;
  const response = await fetch(form.dataset.manifestUrl, { credentials: "omit", cache: "no-store" });
  if (!response.ok) throw new Error(`${text("fetch-failed")} HTTP ${response.status}`);
  ctx = pollContext(parseJson(await response.text()));
  return ctx;
}

form.addEventListener("submit", async (event) => {
  const code = codeInput.value.trim();
  if (!code || (fileInput.files && fileInput.files.length)) return; // a file, or nothing: as is
  event.preventDefault();
  errorBox.hidden = true;
  let statement;
  try {
    try {
      Credential.fromCode(code);
    } catch {
      throw new Error(text("bad-code"));
    }
    try {
      statement = makeVoid(await context(), code);
    } catch (err) {
      throw new Error(err.code === "paper" ? text("not-listed") : err.message);
    }
  } catch (err) {
    show(err.message);
    return;
  }
  codeInput.value = "";
  statementInput.value = JSON.stringify(statement);
  form.submit();
});

document.getElementById("void-in-browser").hidden = false;
