// The tablet booth. Reads the slip's code from the URL fragment (never sent to the server), drops
// it from the address bar and history, checks the credential, shows the ballot, and has a Web
// Worker (build/booth-worker.js, from js/pages/booth-worker.js) encrypt, prove and sign it. Only
// the ballot JSON leaves the tablet. After a cast, a challenge's end or inactivity the page reloads
// itself (location.replace), which clears every trace of the voter from memory and history.

const root = document.getElementById("booth");
const cfg = root.dataset;
const lang = cfg.lang === "en" ? "en" : "vi";
const $ = (id) => document.getElementById(id);
const msg = (id) => $("msg-" + id).content.textContent.trim();

let code = null; // the slip's code: in memory only, for as long as this page lives
let manifest = null;
let choices = []; // grade index or null (blank) per subject; undefined = not yet chosen
let worker = null;
let idleTimer = null;
let countdownTimer = null;

function show(id) {
  for (const s of document.querySelectorAll("section.screen")) s.hidden = s.id !== id;
  window.scrollTo(0, 0);
}

// Back to an empty booth: a fresh page load, replacing this history entry.
function reset() {
  if (worker) worker.terminate();
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

function startWorker() {
  if (worker) worker.terminate();
  worker = new Worker(cfg.worker, { type: "module" });
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

async function begin(typed) {
  code = typed;
  show("screen-loading");
  armIdle();
  try {
    const m = await fetchJson(cfg.manifest);
    if (m.status !== 200) return fail(serverMessage(m.body) || msg("closed"));
    manifest = m.body;
    startWorker();
    let credential;
    try {
      credential = await ask({ type: "credential", manifest, code });
    } catch (e) {
      if (e.kind === "not-listed") return fail(msg("unknown"));
      return fail(e.kind === "code" ? msg("bad-code") : e.message);
    }
    const s = await fetchJson(cfg.credential + credential.public_key);
    if (s.status !== 200) return fail(serverMessage(s.body) || msg("network"));
    if (s.body.state !== "open") return fail(msg("closed"));
    if (s.body.status !== "unused") return fail(msg(s.body.status));
    buildBallot();
    show("screen-ballot");
  } catch (e) {
    fail(e.message);
  }
}

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

function review() {
  const election = manifest.election;
  const rows = $("review-rows");
  rows.replaceChildren();
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
    rows.append(tr);
  });
  show("screen-review");
}

async function encrypt() {
  show("screen-working");
  const bar = $("progress");
  bar.value = 0;
  startWorker(); // a fresh worker: nothing of an earlier encryption is reused
  return ask({ type: "encrypt", manifest, code, choices }, (done, total) => {
    bar.max = total;
    bar.value = done;
  });
}

async function cast() {
  let result;
  try {
    result = await encrypt();
  } catch (e) {
    return fail(e.message, { canReturn: true });
  }
  const body = JSON.stringify(result.ballot);
  result = null; // the randomness is not kept
  const r = await fetchJson(cfg.cast, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  }).catch((e) => ({ status: 0, error: e }));
  if (r.status !== 201) {
    const transient = r.status === 0 || r.status === 503 || r.status === 429;
    return fail(serverMessage(r.body) || msg("network"), { canReturn: transient });
  }
  code = null;
  choices = [];
  worker.terminate();
  worker = null;
  $("receipt-code").textContent = r.body.tracking_code;
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

async function challenge() {
  let result;
  try {
    result = await encrypt();
  } catch (e) {
    return fail(e.message, { canReturn: true });
  }
  // The challenged ballot is shown with its randomness and then forgotten: it is never sent.
  const file = {
    format: "tally-challenge/1",
    poll: result.ballot.poll,
    tracking_code: result.tracking_code,
    ballot: result.ballot,
    choices,
    randomness: result.randomness,
  };
  const text = JSON.stringify(file, null, 1);
  $("challenge-code").textContent = result.tracking_code;
  $("challenge-json").value = text;
  worker.terminate();
  worker = null;
  show("screen-challenge");
  // The server's checker re-encrypts the revealed choices and keeps only the ballot's public
  // ciphertexts, so that no ballot reusing them is ever cast; the voter can also copy the file
  // and check it offline with `tally check-challenge`.
  const verdict = $("challenge-verdict");
  const r = await fetchJson(cfg.check, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: text,
  }).catch(() => ({ status: 0 }));
  const matches = r.status === 200 && r.body && r.body.matches === true;
  verdict.textContent = msg(matches ? "match" : "mismatch");
  verdict.className = "result " + (matches ? "found" : "missing");
  verdict.hidden = r.status === 0;
  const rows = $("challenge-rows").tBodies[0];
  rows.replaceChildren();
  manifest.election.subjects.forEach((subject, i) => {
    const tr = document.createElement("tr");
    const name = document.createElement("th");
    name.textContent = `${i + 1}. ${subject.name}`;
    const grade = document.createElement("td");
    const c = choices[i];
    grade.textContent = c === null ? msg("blank") : gradeName(manifest.election.rules.grades[c]);
    tr.append(name, grade);
    rows.append(tr);
  });
  $("challenge-rows").hidden = !matches;
}

function clearChallenge() {
  $("challenge-json").value = "";
  $("challenge-code").textContent = "";
  $("challenge-verdict").hidden = true;
  $("challenge-rows").hidden = true;
  $("challenge-rows").tBodies[0].replaceChildren();
}

$("code-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const typed = $("code-input").value;
  $("code-input").value = "";
  begin(typed);
});
$("to-review").addEventListener("click", toReview);
$("edit").addEventListener("click", () => show("screen-ballot"));
$("cast").addEventListener("click", cast);
$("challenge").addEventListener("click", challenge);
$("challenge-again").addEventListener("click", () => {
  clearChallenge();
  review();
});
$("done").addEventListener("click", reset);
$("restart").addEventListener("click", reset);
$("back-to-review").addEventListener("click", review);

// A slip opened in a booth tab that is already open: start again from that slip.
window.addEventListener("hashchange", () => location.reload());

// The fragment holds the slip's code: take it, then remove it from the address bar and history.
const fromFragment = decodeURIComponent(location.hash.slice(1));
if (location.hash) history.replaceState(null, "", location.pathname);
if (fromFragment) {
  begin(fromFragment);
} else {
  show("screen-scan");
  $("code-input").focus();
}
