// The tablet booth. The operator opens it once per tablet (a conference's booth, or one poll's);
// the voter shows the slip's QR code to the camera (tally-slip/1: the poll's uid and the code,
// read in the page, never a URL, so nothing reaches the browser's history) or types the code.
// A Web Worker (build/booth-worker.js) derives the credential, encrypts every choice from a fresh
// seed, proves and signs; the page shows the ballot's commitment before the voter casts or
// challenges (docs/protocol.md 12.6). Only the ballot JSON, or for a challenge the signed hashes
// of its ciphertexts' `a`, leaves the tablet; a challenge's seed and choices go to the voter alone
// (a QR code). After a cast, a challenge's end or inactivity the page reloads itself
// (location.replace), which clears every trace of the voter from memory.

import QRCode from "qrcode";
import { startReader } from "./qr-reader.js";
import { parseSlipPayload } from "../tally/slip.js";

const root = document.getElementById("booth");
const cfg = root.dataset;
const lang = cfg.lang === "en" ? "en" : "vi";
const polls = JSON.parse(document.getElementById("booth-polls").textContent);
const $ = (id) => document.getElementById(id);
const msg = (id) => $("msg-" + id).content.textContent.trim();

let code = null; // the slip's code: in memory only, for as long as this page lives
let poll = null; // the open poll the slip belongs to
let manifest = null;
let choices = []; // grade index or null (blank) per subject; undefined = not yet chosen
let sealed = null; // the encrypted ballot shown by its commitment, not yet cast or challenged
let worker = null;
let idleTimer = null;
let countdownTimer = null;
let stopReader = null;

// A commitment on two lines of four groups, never broken inside a group.
function showCommitment(el, text) {
  const halves = [text.slice(0, 20), text.slice(20)].map((part) => {
    const span = document.createElement("span");
    span.textContent = part;
    return span;
  });
  el.replaceChildren(...halves);
}

function show(id) {
  for (const s of document.querySelectorAll("section.screen")) s.hidden = s.id !== id;
  if (id !== "screen-scan" && stopReader) {
    stopReader();
    stopReader = null;
  }
  window.scrollTo(0, 0);
}

// Back to an empty booth: a fresh page load, replacing this history entry.
function reset() {
  if (worker) worker.terminate();
  if (spare) spare.worker.terminate();
  code = null;
  location.replace(cfg.home);
}

function armIdle() {
  clearTimeout(idleTimer);
  const screen = document.querySelector("section.screen:not([hidden])");
  if (screen && screen.id !== "screen-scan") {
    idleTimer = setTimeout(reset, Number(cfg.idleSeconds) * 1000);
  }
}
for (const ev of ["pointerdown", "keydown", "scroll"]) {
  document.addEventListener(ev, armIdle, { passive: true });
}

function fail(text, { canReturn = false } = {}) {
  $("error-text").textContent = text;
  $("back-to-review").hidden = !canReturn;
  show("screen-error");
  armIdle();
}

function serverMessage(body) {
  const err = body && body.error;
  if (!err) return null;
  return lang === "en" ? err.message_en : err.message_vi;
}

// A worker started while the voter fills the ballot in, given only the poll's public manifest: it
// loads its module and checks the manifest then, so that pressing the button waits for the
// encryption only (issue 19). It has seen nothing of the voter: as fresh as a new one.
// {worker, ready: Promise<boolean>} (true once it holds the poll's context).
let spare = null;

function warmWorker() {
  if (spare) return;
  const w = new Worker(cfg.worker, { type: "module" });
  const ready = new Promise((resolve) => {
    w.onmessage = (event) => resolve(Boolean(event.data) && event.data.type === "context");
    w.onerror = () => resolve(false);
  });
  w.postMessage({ type: "context", manifest });
  spare = { worker: w, ready };
}

function startWorker() {
  if (worker) worker.terminate();
  worker = new Worker(cfg.worker, { type: "module" });
}

// The encryption's worker: the spare one if it holds the context (the encryption then needs no
// manifest), else a new one given the manifest with the request. Either way one that has never
// encrypted, so nothing of an earlier encryption is reused.
async function encryptionWorker() {
  if (worker) worker.terminate();
  worker = null;
  const s = spare;
  spare = null;
  if (s && (await s.ready)) {
    worker = s.worker;
    return { type: "encrypt", code, choices };
  }
  if (s) s.worker.terminate();
  startWorker();
  return { type: "encrypt", manifest, code, choices };
}

function ask(message, onProgress) {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      const data = event.data;
      if (data.type === "progress") {
        if (onProgress) onProgress(data.done, data.total);
      } else if (data.type === "error") {
        const error = new Error(lang === "en" ? data.message_en : data.message_vi);
        error.kind = data.kind;
        reject(error);
      } else {
        resolve(data);
      }
    };
    worker.onerror = () => reject(new Error(msg("network")));
    worker.postMessage(message);
  });
}

async function fetchJson(url, options) {
  let response;
  try {
    response = await fetch(url, { cache: "no-store", credentials: "omit", ...options });
  } catch {
    throw new Error(msg("network"));
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, body };
}

// --- the slip ---------------------------------------------------------------------------------

function startCamera() {
  const status = $("reader-status");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    status.textContent = msg("no-camera");
    return;
  }
  $("reader").hidden = false;
  status.textContent = msg("camera-on");
  stopReader = startReader(
    $("reader-video"),
    $("reader-canvas"),
    (text) => {
      let slip;
      try {
        slip = parseSlipPayload(text);
      } catch (e) {
        // Not a slip (another QR code, a URL) or a damaged one: say so, send nothing.
        status.textContent = msg(e.kind === "bad-slip" ? "bad-slip" : "not-slip");
        return;
      }
      const found = polls.find((p) => p.uid === slip.pollUid);
      if (!found) {
        status.textContent = msg("other-poll");
        return;
      }
      begin(slip.code, found);
    },
    (kind) => {
      $("reader").hidden = true;
      status.textContent = msg(kind === "denied" ? "camera-denied" : "no-camera");
    },
  );
}

async function loadManifest(p) {
  const m = await fetchJson(p.manifest);
  if (m.status !== 200) throw new Error(serverMessage(m.body) || msg("closed"));
  return m.body;
}

// A typed code names no poll: with several open polls, the one whose manifest lists the slip's
// key (checked here, in the worker; nothing is sent until one is found).
async function findPoll(typed) {
  if (polls.length === 1) return { p: polls[0], m: await loadManifest(polls[0]) };
  for (const p of polls) {
    const m = await loadManifest(p);
    startWorker();
    try {
      await ask({ type: "credential", manifest: m, code: typed });
      return { p, m };
    } catch (e) {
      if (e.kind !== "not-listed") throw e;
    }
  }
  return null;
}

async function begin(typed, scannedPoll) {
  code = typed;
  show("screen-loading");
  armIdle();
  try {
    let found;
    try {
      found = scannedPoll
        ? { p: scannedPoll, m: await loadManifest(scannedPoll) }
        : await findPoll(typed);
    } catch (e) {
      if (e.kind === "code") return fail(msg("bad-code"));
      // A typed code that is well formed but listed nowhere: most likely a typo.
      if (e.kind === "not-listed") return fail(msg(scannedPoll ? "unknown" : "unknown-typed"));
      return fail(e.message);
    }
    if (!found) return fail(msg(scannedPoll ? "unknown" : "unknown-typed"));
    poll = found.p;
    manifest = found.m;
    $("booth-title").textContent = poll.title;
    startWorker();
    let credential;
    try {
      credential = await ask({ type: "credential", manifest, code });
    } catch (e) {
      if (e.kind === "not-listed") return fail(msg(scannedPoll ? "unknown" : "unknown-typed"));
      return fail(e.kind === "code" ? msg("bad-code") : e.message);
    }
    const s = await fetchJson(poll.credential + credential.public_key);
    if (s.status !== 200) return fail(serverMessage(s.body) || msg("network"));
    if (s.body.state !== "open") return fail(msg("closed"));
    if (s.body.status !== "unused") return fail(msg(s.body.status));
    buildBallot();
    show("screen-ballot");
    warmWorker();
  } catch (e) {
    fail(e.message);
  }
}

// --- the ballot -------------------------------------------------------------------------------

function gradeName(grade) {
  return lang === "en" ? grade.name_en : grade.name_vi;
}

// What Quy định 366 asks the voter to see beside a subject, read-only: the self-score and
// self-grade, the proposal (for an adoption poll: the grade put to the vote), discipline.
function assessment(subject, adoption) {
  const parts = [];
  if (subject.self_score) {
    const score = lang === "en" ? subject.self_score : subject.self_score.replace(".", ",");
    parts.push(`${msg("self-score")}: ${score}`);
  }
  if (subject.self_grade) parts.push(`${msg("self-grade")}: ${subject.self_grade}`);
  if (subject.proposed_grade)
    parts.push(`${msg(adoption ? "adopt" : "proposed")}: ${subject.proposed_grade}`);
  if (Array.isArray(subject.discipline) && subject.discipline.length) parts.push(msg("disciplined"));
  return parts.join(" · ");
}

function buildBallot() {
  const election = manifest.election;
  const grades = election.rules.grades;
  const list = $("subjects");
  list.replaceChildren();
  choices = election.subjects.map(() => undefined);
  election.subjects.forEach((subject, i) => {
    const item = document.createElement("li");
    item.className = "subject";
    const head = document.createElement("div");
    head.className = "subject-name";
    head.textContent = subject.name;
    item.append(head);
    if (subject.role) {
      const role = document.createElement("div");
      role.className = "subject-role";
      role.textContent = subject.role;
      item.append(role);
    }
    const facts = assessment(subject, election.rules.decision_rule === "adoption_majority");
    if (facts) {
      const info = document.createElement("div");
      info.className = "subject-assessment";
      info.textContent = facts;
      item.append(info);
    }
    const group = document.createElement("div");
    group.className = "grades";
    group.setAttribute("role", "radiogroup");
    group.setAttribute("aria-label", subject.name);
    const options = grades.map((g, j) => [j, gradeName(g), g.code]);
    if (election.allow_blank) options.push([null, msg("blank"), "BLANK"]);
    for (const [j, label, gradeCode] of options) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "grade";
      button.dataset.grade = gradeCode;
      button.setAttribute("role", "radio");
      button.setAttribute("aria-checked", "false");
      button.textContent = label;
      button.addEventListener("click", () => {
        choices[i] = j;
        for (const b of group.children) b.setAttribute("aria-checked", String(b === button));
        item.classList.add("done");
        item.classList.remove("missing");
        updateAnswered();
      });
      group.append(button);
    }
    item.append(group);
    list.append(item);
  });
  updateAnswered();
}

function updateAnswered() {
  const done = choices.filter((c) => c !== undefined).length;
  $("answered").textContent = `${msg("answered")}: ${done}/${choices.length}`;
}

// "Review" with a subject not yet graded: take the voter to it instead of refusing silently.
function toReview() {
  const items = document.querySelectorAll("li.subject");
  const first = choices.findIndex((c) => c === undefined);
  items.forEach((item, i) => item.classList.toggle("missing", choices[i] === undefined));
  if (first === -1) return review();
  $("answered").textContent = msg("missing");
  items[first].scrollIntoView({ behavior: "smooth", block: "center" });
}

function choiceRows(tbody) {
  const election = manifest.election;
  tbody.replaceChildren();
  election.subjects.forEach((subject, i) => {
    const tr = document.createElement("tr");
    const name = document.createElement("th");
    name.textContent = `${i + 1}. ${subject.name}`;
    if (subject.role) {
      const role = document.createElement("div");
      role.className = "subject-role";
      role.textContent = subject.role;
      name.append(role);
    }
    const grade = document.createElement("td");
    grade.className = "chosen";
    const c = choices[i];
    grade.textContent = c === null ? msg("blank") : gradeName(election.rules.grades[c]);
    tr.append(name, grade);
    tbody.append(tr);
  });
}

function review() {
  forget();
  choiceRows($("review-rows"));
  show("screen-review");
}

// The voter goes back: the encryption shown by its commitment is dropped, never cast.
function forget() {
  sealed = null;
  if (worker) worker.postMessage({ type: "forget" });
}

// --- encrypt, then cast or challenge ------------------------------------------------------------

async function seal() {
  show("screen-working");
  const bar = $("progress");
  bar.value = 0;
  let result;
  try {
    const request = await encryptionWorker(); // a fresh worker and a fresh seed
    result = await ask(request, (done, total) => {
      bar.max = total;
      bar.value = done;
    });
  } catch (e) {
    return fail(e.message, { canReturn: true });
  } finally {
    warmWorker(); // for the next encryption, if the voter goes back to change a grade
  }
  sealed = { ballot: result.ballot, commitment: result.commitment };
  showCommitment($("sealed-commitment"), result.commitment);
  show("screen-sealed");
}

async function cast() {
  if (!sealed) return review();
  const body = JSON.stringify(sealed.ballot);
  const commitment = sealed.commitment;
  $("cast").disabled = true;
  const r = await fetchJson(poll.cast, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  }).catch((e) => ({ status: 0, error: e }));
  $("cast").disabled = false;
  if (r.status !== 201) {
    const transient = r.status === 0 || r.status === 503 || r.status === 429;
    return fail(serverMessage(r.body) || msg("network"), { canReturn: transient });
  }
  sealed = null;
  code = null;
  choices = [];
  worker.terminate();
  worker = null;
  $("receipt-code").textContent = r.body.tracking_code;
  showCommitment($("receipt-commitment"), commitment);
  $("receipt-position").textContent = String(r.body.position);
  show("screen-receipt");
  let left = Number(cfg.resetSeconds);
  $("countdown").textContent = String(left);
  countdownTimer = setInterval(() => {
    left -= 1;
    $("countdown").textContent = String(Math.max(left, 0));
    if (left <= 0) reset();
  }, 1000);
}

function qrSvg(text) {
  return new Promise((resolve, reject) => {
    QRCode.toString(text, { type: "svg", errorCorrectionLevel: "M", margin: 2 }, (err, svg) => {
      if (err) return reject(err);
      const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
      resolve(document.importNode(doc.documentElement, true));
    });
  });
}

async function challenge() {
  if (!sealed) return review();
  const shown = sealed.commitment;
  sealed = null;
  let revealed;
  try {
    revealed = await ask({ type: "challenge" });
  } catch (e) {
    return fail(e.message, { canReturn: true });
  }
  // The server is told which ciphertexts to refuse (hashes of their `a`, signed by the slip);
  // the seed and the choices are shown only once it has recorded them, and are never sent.
  const r = await fetchJson(poll.challenge, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(revealed.notice),
  }).catch(() => ({ status: 0 }));
  if (r.status !== 201) {
    revealed = null;
    return fail(serverMessage(r.body) || msg("network"), { canReturn: true });
  }
  showCommitment($("challenge-commitment"), shown);
  choiceRows($("challenge-rows").tBodies[0]);
  $("challenge-text").textContent = revealed.qr_text;
  // Shown, not linked: a page opened from here would outlive the booth's reset on the tablet.
  // A second, small QR code carries the checker's address to the voter's own phone.
  const checker = new URL(poll.check, location.href).href;
  $("challenge-check").textContent = checker;
  try {
    $("challenge-qr").replaceChildren(await qrSvg(revealed.qr_text));
    $("checker-qr").replaceChildren(await qrSvg(checker));
  } catch {
    $("challenge-qr").replaceChildren();
    $("checker-qr").replaceChildren();
  }
  revealed = null;
  worker.terminate();
  worker = null;
  show("screen-challenge");
}

function clearChallenge() {
  $("challenge-text").textContent = "";
  $("challenge-commitment").textContent = "";
  $("challenge-qr").replaceChildren();
  $("checker-qr").replaceChildren();
  $("challenge-rows").tBodies[0].replaceChildren();
}

$("code-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const typed = $("code-input").value;
  $("code-input").value = "";
  begin(typed, null);
});
$("to-review").addEventListener("click", toReview);
$("edit").addEventListener("click", () => show("screen-ballot"));
$("edit-sealed").addEventListener("click", () => {
  forget();
  show("screen-ballot");
});
$("seal").addEventListener("click", seal);
$("cast").addEventListener("click", cast);
$("challenge").addEventListener("click", challenge);
$("challenge-again").addEventListener("click", () => {
  clearChallenge();
  review();
});
$("done").addEventListener("click", reset);
$("restart").addEventListener("click", reset);
$("back-to-review").addEventListener("click", review);

// Plain HTTP to anything but this machine: the hall network reads the ballots and the codes.
if (!window.isSecureContext) $("insecure").hidden = false;

show("screen-scan");
startCamera();
$("code-input").focus();
