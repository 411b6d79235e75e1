// The checker of a challenged ballot (docs/protocol.md 12.6), in the browser: it rebuilds the
// ciphertexts from the poll's public manifest, the revealed seed and the choices, and compares
// their commitment with the one the booth showed. Nothing is sent anywhere.
//
// Two pages use it: the service's /polls/<id>/check (the manifest fetched from data-manifest),
// and the static check-challenge.html built from the repository (js/build-checker.mjs), opened
// from a file on the voter's or an auditor's own device, with the manifest chosen as a file, so
// that the check does not rest on the server it checks.

import { checkChallengeFile, parseChallengeText, pollContext } from "../tally/index.js";
import { startReader } from "./qr-reader.js";

const root = document.getElementById("checker");
const $ = (id) => document.getElementById(id);
const msg = (id) => $("msg-" + id).content.textContent.trim();
const lang = root.dataset.lang === "en" ? "en" : "vi";

let manifest = null;
let stopReader = null;

function setManifest(data) {
  pollContext(data); // every check of the manifest (proofs, signatures), or it throws
  manifest = data;
  $("poll-title").textContent = data.election.title || "";
}

async function loadManifestUrl(url) {
  const response = await fetch(url, { cache: "no-store", credentials: "omit" });
  if (!response.ok) throw new Error(msg("no-manifest"));
  setManifest(await response.json());
}

function verdict(text, ok) {
  const el = $("verdict");
  el.textContent = text;
  el.className = "result " + (ok ? "found" : "missing");
  el.hidden = false;
}

function gradeName(grade) {
  return lang === "en" ? grade.name_en : grade.name_vi;
}

function showRows(choices) {
  const tbody = $("rows").tBodies[0];
  tbody.replaceChildren();
  const grades = manifest.election.rules.grades;
  manifest.election.subjects.forEach((subject, i) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = `${i + 1}. ${subject.name}`;
    const td = document.createElement("td");
    const c = choices[i];
    td.textContent = c === null ? msg("blank") : gradeName(grades[c]);
    tr.append(th, td);
    tbody.append(tr);
  });
  $("rows").hidden = false;
}

function check(text) {
  $("rows").hidden = true;
  if (!manifest) return verdict(msg("no-manifest"), false);
  let result;
  try {
    result = checkChallengeFile(manifest, parseChallengeText(text));
  } catch (e) {
    const what = e && e.what ? ` (${e.what})` : "";
    return verdict(msg("malformed") + what, false);
  }
  if (result.matches) {
    verdict(`${msg("match")} ${result.commitment}`, true);
    showRows(result.choices);
  } else {
    verdict(`${msg("differs-" + result.differs)} ${result.commitment}`, false);
  }
}

function readFile(input, then) {
  const file = input.files && input.files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => then(String(reader.result));
  reader.onerror = () => verdict(msg("unreadable"), false);
  reader.readAsText(file);
}

$("check").addEventListener("click", () => check($("challenge-input").value));
$("challenge-file").addEventListener("change", (event) =>
  readFile(event.target, (text) => {
    $("challenge-input").value = text;
    check(text);
  }),
);
const manifestInput = $("manifest-file");
if (manifestInput) {
  manifestInput.addEventListener("change", (event) =>
    readFile(event.target, (text) => {
      try {
        setManifest(JSON.parse(text));
        $("manifest-status").textContent = msg("manifest-ok");
      } catch {
        manifest = null;
        $("manifest-status").textContent = msg("bad-manifest");
      }
    }),
  );
}
$("scan").addEventListener("click", () => {
  if (stopReader) {
    stopReader();
    stopReader = null;
    $("reader").hidden = true;
    return;
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return verdict(msg("no-camera"), false);
  }
  $("reader").hidden = false;
  stopReader = startReader(
    $("reader-video"),
    $("reader-canvas"),
    (text) => {
      stopReader();
      stopReader = null;
      $("reader").hidden = true;
      $("challenge-input").value = text;
      check(text);
    },
    () => {
      $("reader").hidden = true;
      stopReader = null;
      verdict(msg("no-camera"), false);
    },
  );
});

if (root.dataset.manifest) {
  loadManifestUrl(root.dataset.manifest).catch(() => verdict(msg("no-manifest"), false));
}
