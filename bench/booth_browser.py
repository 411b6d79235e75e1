"""The booth's encryption in headless Chromium, on a tablet-class CPU (4x throttling).

Measures, for a 15- and a 50-subject ballot (4 grades, blanks allowed), the time the booth's
JavaScript takes to derive the credential key, encrypt, prove and sign (docs/protocol.md §12), both
in the Web Worker the booth uses and on the page's main thread, twice: with DevTools' CPU
throttling (Chromium applies it to the page's main thread only and refuses it for workers, so the
worker's figure there is unthrottled), then with the whole browser in a Linux CPU cgroup of a
quarter of this machine's cores (root and cgroup v1 needed, else skipped): a device whose every
core is 4x slower, where the worker's figure is the booth's on a slow tablet. The worker is timed
new (its module loaded after the message) and warm (started 5 s before and given the manifest, as
the booth starts it while the voter fills the ballot in). The produced ballots are then verified by the Python
verifier, so the figure is for real, valid ballots. Pages are served from memory by Playwright's
routing; nothing leaves the machine.

    .venv/bin/python bench/booth_browser.py [--throttle 4] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Route, sync_playwright
from trustee_browser import slower_device

from tally.ballots import verify_ballot
from tally.credentials import Credential
from tally.demo import demo_credentials, demo_subjects
from tally.manifest import make_manifest, parse_manifest
from tally.rules import load_ruleset
from tally.trustees import TrusteeKey

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "ballot" / "static" / "build"
ORIGIN = "http://booth.bench"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<script type="module">
import * as tally from "/build/tally.js";
window.tally = tally;
window.inWorker = (message) => new Promise((resolve, reject) => {
  const worker = new Worker("/build/booth-worker.js", {type: "module"});
  const start = performance.now();
  worker.onmessage = (e) => {
    if (e.data.type === "done") { resolve({ms: performance.now() - start, ballot: e.data.ballot});
                                  worker.terminate(); }
    if (e.data.type === "error") { reject(new Error(e.data.message_en)); worker.terminate(); }
  };
  worker.postMessage(message);
});
// The booth starts the encryption's worker while the voter fills the ballot in and gives it the
// poll's manifest (booth.js warmWorker): the voter waits for the encryption only, not for the
// module's loading nor the manifest's checks.
window.inWarmWorker = async (manifest, message) => {
  const worker = new Worker("/build/booth-worker.js", {type: "module"});
  const ready = new Promise((r) => { worker.onmessage = (e) => r(e.data.type); });
  worker.postMessage({type: "context", manifest});
  await new Promise((r) => setTimeout(r, 5000));
  if (await ready !== "context") throw new Error("the worker refused the manifest");
  return new Promise((resolve, reject) => {
    const start = performance.now();
    worker.onmessage = (e) => {
      if (e.data.type === "done") { resolve({ms: performance.now() - start, ballot: e.data.ballot});
                                    worker.terminate(); }
      if (e.data.type === "error") { reject(new Error(e.data.message_en)); worker.terminate(); }
    };
    worker.postMessage(message);
  });
};
window.onMain = async (manifest, code, choices) => {
  const start = performance.now();
  const result = await tally.encryptBallot(manifest, code, choices);
  return {ms: performance.now() - start, ballot: result.ballot};
};
window.ready = true;
</script>"""


def _manifest(subjects: int) -> tuple[dict[str, Any], Credential]:
    """A version-2 manifest of ``subjects`` subjects with one slip of the authority's list."""
    trustees = [TrusteeKey.generate(f"T{k}").public for k in range(3)]
    uid, credential_list, credentials = demo_credentials(1)
    manifest = make_manifest(
        poll_id="bench",
        poll_uid=uid,
        title="Bench",
        conference={"title": "Bench"},
        subjects=demo_subjects(subjects),
        rules=load_ruleset("qd124-2023"),
        trustees=trustees,
        credential_list=credential_list,
        members=max(subjects, 60),
        signer_public_key=bytes(32),
    )
    return manifest, credentials[0]


def _serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if path in ("/", "/index.html"):
        route.fulfill(status=200, content_type="text/html", body=PAGE)
    elif path.startswith("/build/") and (BUILD / path.removeprefix("/build/")).is_file():
        body = (BUILD / path.removeprefix("/build/")).read_bytes()
        route.fulfill(status=200, content_type="text/javascript", body=body)
    else:
        route.fulfill(status=404, body="")


def measure(pw: Any, args: argparse.Namespace, devtools_throttle: float, label: str) -> None:
    print(f" {label}:")
    browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS, headless=True)
    page = browser.new_page()
    page.route(f"{ORIGIN}/**", _serve)
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("window.ready === true")
    if devtools_throttle != 1:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": devtools_throttle})
    for subjects in (15, 50):
        manifest, credential = _manifest(subjects)
        ctx = parse_manifest(manifest).context
        choices = [i % 4 for i in range(subjects)]
        for where, call in (
            (
                "new worker",
                "(a) => window.inWorker({type: 'encrypt', manifest: a[0], code: a[1],"
                " choices: a[2]})",
            ),
            (
                "warm worker",
                "(a) => window.inWarmWorker(a[0], {type: 'encrypt', code: a[1], choices: a[2]})",
            ),
            ("main thread", "(a) => window.onMain(a[0], a[1], a[2])"),
        ):
            times = []
            size = 0
            for _ in range(args.repeat):
                out = page.evaluate(call, [manifest, credential.code, choices])
                verify_ballot(ctx, out["ballot"])  # a real, valid ballot, or this raises
                times.append(out["ms"])
                size = len(json.dumps(out["ballot"]))
            print(
                f"  {subjects:2d} subjects x 4 grades, {where:11s}: median"
                f" {statistics.median(times):7.1f} ms, max {max(times):7.1f} ms"
                f" ({args.repeat} runs, {size / 1024:.1f} KB, verified by tally)",
                flush=True,
            )
    browser.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--throttle", type=float, default=4.0)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    if not (BUILD / "booth-worker.js").is_file():
        print("booth bundle missing: run `make assets` first", file=sys.stderr)
        return 2
    print(f"Booth encryption in headless Chromium, CPU throttling {args.throttle:g}x")
    with sync_playwright() as pw:
        measure(pw, args, args.throttle, "DevTools throttling (main thread only)")
    # A device whose every core is 4x slower: the whole browser (its workers too, which DevTools
    # cannot throttle) held to a quarter of this machine's cores by a CPU cgroup.
    with slower_device(1 / args.throttle) as share:
        if share is not None:
            with sync_playwright() as pw:
                measure(pw, args, 1, f"a {args.throttle:g}x slower device (cgroup)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
