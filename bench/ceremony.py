"""The key ceremony of 5 trustees and 3-of-5 counting of a 500-ballot x 15-subject poll.

Figures (docs/protocol.md 9.4, 14.5), per trustee:

- on the CLI's code path (``tally trustee deal``, ``check``, ``decrypt``: tally/dkg.py), the
  dealing, the check of the n dealings, the share of the poll's secret recomputed from the
  transcript, and the partial decryption of the 15 x 4 aggregate with its proofs;
- in headless Chromium with 4x CPU throttling (a tablet-class CPU), the same steps through the
  trustee pages' JavaScript (js/tally/dkg-trustee.js), whose output tally then checks;
- on the server, checking three shares and combining them (Lagrange, counts up to 500).

Opening the key file (scrypt) is timed apart: it is the same for every step. The aggregate is 60
ciphertexts whatever the number of ballots; here it encrypts counts that add up to 500 ballots.
Figures, not a test.

    .venv/bin/python bench/ceremony.py [--throttle 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Route, sync_playwright

from tally.authority import new_poll_uid
from tally.dkg import (
    Ceremony,
    combine,
    decrypt_share,
    evaluate,
    make_check,
    make_dealing,
    threshold_key,
    verify_share,
)
from tally.elgamal import Ciphertext
from tally.group import Point, base_mul, random_scalar
from tally.trustees import TrusteeKey, make_aggregate

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "ballot" / "static" / "build"
ORIGIN = "http://ceremony.bench"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PASSPHRASE = "mật khẩu đo tốc độ 2026"
N, K, BALLOTS, SUBJECTS, GRADES = 5, 3, 500, 15, 4

PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<script type="module">
import * as T from "/build/tally.js";
const time = (f) => { const t = performance.now(); const out = f(); return [performance.now() - t, out]; };
window.trusteeSteps = async (keyFile, passphrase, setup, dealings, checks, aggregate) => {
  const t0 = performance.now();
  const key = await T.openTrusteeKey(keyFile, passphrase);
  const open = performance.now() - t0;
  const ceremony = T.makeCeremony(setup.uid, setup.threshold,
                                  setup.trustees.map((t) => T.parseTrusteePublic(t)));
  const [deal, dealing] = time(() => T.makeDealing(ceremony, key));
  const [check, checked] = time(() => T.makeCheck(ceremony, key, dealings));
  const [share, held] = time(() => T.thresholdKey(ceremony, dealings, checks, key));
  const [decrypt, result] = time(() => T.decryptThresholdShare(held, aggregate));
  return {open, deal, check, share, decrypt, dealing, checked, result};
};
window.ready = true;
</script>"""


def _serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if path in ("/", "/index.html"):
        route.fulfill(status=200, content_type="text/html", body=PAGE)
    elif path.startswith("/build/") and (BUILD / path.removeprefix("/build/")).is_file():
        body = (BUILD / path.removeprefix("/build/")).read_bytes()
        route.fulfill(status=200, content_type="text/javascript", body=body)
    else:
        route.fulfill(status=404, body="")


def timed(f: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = f()
    return (time.perf_counter() - started) * 1000, out


def aggregate_for(public_key: Point) -> tuple[dict[str, Any], list[list[int]]]:
    counts = [[BALLOTS // 2, BALLOTS // 4, BALLOTS // 8, BALLOTS // 8] for _ in range(SUBJECTS)]
    cells = []
    for row in counts:
        out = []
        for m in row:
            r = random_scalar()
            out.append(Ciphertext(base_mul(r), public_key * r + base_mul(m)))
        cells.append(out)
    return make_aggregate(bytes(32), "00" * 32, BALLOTS, cells), counts


def med(values: list[float]) -> str:
    return f"{statistics.median(values):8.1f} ms"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--throttle", type=float, default=4.0)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    keys = [TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {m}") for m in range(1, N + 1)]
    setup = Ceremony(new_poll_uid(), K, tuple(k.public for k in keys))
    print(
        f"Key ceremony of {N} trustees, {K} of {N} counting, {BALLOTS} ballots x {SUBJECTS}"
        f" subjects x {GRADES} grades"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t1.key"
        keys[0].save(path, PASSPHRASE)
        open_ms, _ = timed(lambda: TrusteeKey.load(path, PASSPHRASE))
        key_file = json.loads(path.read_text(encoding="utf-8"))
    deal_ms, dealings = [], []
    for key in keys:
        ms, dealing = timed(lambda key=key: make_dealing(setup, key))
        deal_ms.append(ms)
        dealings.append(dealing)
    check_ms, checks = [], []
    for key in keys:
        ms, check = timed(lambda key=key: make_check(setup, key, dealings))
        check_ms.append(ms)
        checks.append(check)
    outcome = evaluate(setup, dealings, checks)
    aggregate, counts = aggregate_for(outcome.public_key)
    share_ms, decrypt_ms, shares = [], [], []
    for key in keys[:K]:
        ms, held = timed(lambda key=key: threshold_key(setup, dealings, checks, key))
        share_ms.append(ms)
        ms, share = timed(lambda held=held: decrypt_share(aggregate, held))
        decrypt_ms.append(ms)
        shares.append(share)

    def server() -> list[list[int]]:
        partials = dict(verify_share(aggregate, setup, outcome, s) for s in shares)
        return combine(aggregate, partials, K, BALLOTS)[0]

    server_ms, combined = timed(server)
    assert combined == counts
    evaluate_ms, _ = timed(lambda: evaluate(setup, dealings, checks))
    print("CLI (tally/dkg.py), per trustee, median:")
    print(f"  open the key file (scrypt)          {open_ms:8.1f} ms")
    print(f"  step 1, dealing                     {med(deal_ms)}")
    print(f"  step 2, checking {N} dealings          {med(check_ms)}")
    print(f"  share of the key from the transcript {med(share_ms)}")
    print(f"  partial decryption, {SUBJECTS * GRADES} proofs        {med(decrypt_ms)}")
    print("Server:")
    print(f"  evaluate the transcript (each open)  {evaluate_ms:8.1f} ms")
    print(f"  check {K} shares and combine          {server_ms:8.1f} ms")

    if not (BUILD / "tally.js").is_file():
        print("the JavaScript bundle is missing: run `make assets`", file=sys.stderr)
        return 2
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS, headless=True)
        page = browser.new_page()
        page.route(f"{ORIGIN}/**", _serve)
        page.goto(f"{ORIGIN}/")
        page.locator("title").wait_for(state="attached")
        page.wait_for_timeout(500)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.throttle})
        out = page.evaluate(
            "(a) => window.trusteeSteps(a[0], a[1], a[2], a[3], a[4], a[5])",
            [key_file, PASSPHRASE, setup.to_json(), dealings, checks, aggregate],
        )
        browser.close()
    assert out["dealing"] == dealings[0] and out["checked"] == checks[0]  # byte for byte
    verify_share(aggregate, setup, outcome, out["result"])  # a valid share, or this raises
    print(f"Chromium, {args.throttle:g}x CPU throttling, trustee 1 (checked by tally):")
    print(f"  open the key file (scrypt)          {out['open']:8.1f} ms")
    print(f"  step 1, dealing                     {out['deal']:8.1f} ms")
    print(f"  step 2, checking {N} dealings          {out['check']:8.1f} ms")
    print(f"  share of the key from the transcript {out['share']:8.1f} ms")
    print(f"  partial decryption, {SUBJECTS * GRADES} proofs        {out['decrypt']:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
