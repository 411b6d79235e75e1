"""The trustee page's whole share on a 500-ballot x 15-subject board, in headless Chromium.

A real ``ballot serve`` on 127.0.0.1 with a closed, attested poll of N ballots (encrypted here by
tally, cast through the service's API, counting started), and the real trustee page: choose the key
file, type the passphrase and the head, press the button; timed from the click to the server's
answer (board checked in the page's workers, key opened, share made, sent, accepted). Two runs:

- **DevTools 4x throttling**: ``Emulation.setCPUThrottlingRate`` 4 on the page. Chromium applies
  it to the page's main thread only (it refuses it for workers), so this shows that the main
  thread stays free (its longest task), not how long a slow tablet takes;
- **a 4x slower device**: the whole browser (main thread and workers) in a Linux CPU cgroup with a
  quota of a quarter of this machine's cores (root and cgroup v1's cpu controller needed;
  skipped otherwise): a tablet of as many cores, each 4x slower.

Each run prints the total, the time to the board's check, the longest main-thread task (the Long
Tasks API) and how many tasks went over 200 ms. Figures, not a test; bounded (``--timeout``).

    .venv/bin/python bench/trustee_browser.py [--ballots 500] [--subjects 15]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from ballot import db  # noqa: E402
from tally.ballots import encrypt_ballot  # noqa: E402
from tests.support.polls import conference_toml, make_app, prepare_poll, run  # noqa: E402
from tests.support.server import free_port, server_env, start_server, stop_server  # noqa: E402

PASSPHRASE = "mật khẩu đo tốc độ trang kiểm phiếu"
HEAD_RE = re.compile(r"board head: ([0-9a-f]{64})")
CGROUP_ROOT = Path("/sys/fs/cgroup/cpu")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push({start: e.startTime, ms: e.duration});
}).observe({type: "longtask", buffered: true});
"""


def prepare(tmp: Path, ballots: int, subjects: int) -> tuple[str, Path, list[Any]]:
    """The closed, attested poll with counting started; (board head, database, trustees)."""
    database = tmp / "ballot.sqlite3"
    app = make_app(tmp, f"sqlite:///{database}")
    run(app, "init")
    conf = tmp / "conference.toml"
    conf.write_text(conference_toml(subjects, ballots), encoding="utf-8")
    run(app, "conference", "import", str(conf))
    poll = prepare_poll(app, tmp, 1, ballots)
    ctx = poll.manifest.context
    t0 = time.perf_counter()
    for k in range(ballots):
        row = [(k * 7 + i) % ctx.grades for i in range(ctx.subjects)]
        response = poll.post(encrypt_ballot(ctx, poll.credential(k), row))
        if response.status_code != 201:
            raise RuntimeError(f"ballot {k + 1}: HTTP {response.status_code}")
    print(f"  {ballots} ballots encrypted and cast in {time.perf_counter() - t0:.0f} s", flush=True)
    match = HEAD_RE.search(run(app, "poll", "close", "1"))
    if not match:
        raise RuntimeError("no board head at close")
    poll.attest()
    run(app, "count", "start", "1", "--out-dir", str(tmp / "for-trustees"))
    with app.app_context():
        db.engine().dispose()
    return match.group(1), database, poll.trustees


@contextmanager
def slower_device(fraction: float) -> Any:
    """This process (and so the browser it starts) limited to ``fraction`` of the machine's
    cores, or None if cgroups cannot be used here."""
    group = CGROUP_ROOT / f"tally-bench-{os.getpid()}"
    try:
        group.mkdir()
        period = 100_000
        quota = max(1000, int(period * (os.cpu_count() or 1) * fraction))
        (group / "cpu.cfs_period_us").write_text(str(period))
        (group / "cpu.cfs_quota_us").write_text(str(quota))
        (group / "tasks").write_text(str(os.getpid()))
    except OSError as err:
        print(f"  (a slower device cannot be emulated here: {err})")
        yield None
        return
    try:
        yield quota / period
    finally:
        for pid in (group / "tasks").read_text().split():
            with suppress(OSError):
                (CGROUP_ROOT / "tasks").write_text(pid)
        with suppress(OSError):
            group.rmdir()


def share_once(
    pw: Any, base: str, head: str, key_file: Path, devtools_throttle: float, timeout_s: float
) -> dict[str, Any]:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        context.add_init_script(LONG_TASKS)
        page = context.new_page()
        page.set_default_timeout(timeout_s * 1000)
        page.goto(base + "/trustee/polls/1")
        page.locator("#in-browser").wait_for(state="visible")
        if devtools_throttle != 1:
            cdp = context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": devtools_throttle})
        page.set_input_files("#key-file", str(key_file))
        page.fill("#passphrase", PASSPHRASE)
        page.fill("#expected-head", head)
        started = float(page.evaluate("performance.now()"))
        t0 = time.perf_counter()
        page.click("#compute-share")
        page.locator("#progress li.ok, #progress li.fail").first.wait_for()
        board_s = time.perf_counter() - t0
        page.locator("#progress li.fail, #browser-result p").first.wait_for()
        total_s = time.perf_counter() - t0
        accepted = page.locator("#browser-result p.accepted").count() == 1
        text = page.locator("#in-browser").inner_text()
        tasks = [t["ms"] for t in page.evaluate("window.__longTasks") if t["start"] >= started]
        workers = int(page.evaluate("navigator.hardwareConcurrency"))
    finally:
        browser.close()
    if not accepted:
        raise RuntimeError(f"the share was not accepted: {text[-400:]}")
    return {
        "total_s": total_s,
        "board_s": board_s,
        "longest_task_ms": max(tasks, default=0),
        "tasks_over_200ms": sum(1 for ms in tasks if ms > 200),
        "cores": workers,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ballots", type=int, default=500)
    p.add_argument("--subjects", type=int, default=15)
    p.add_argument("--slowdown", type=float, default=4.0)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    args = p.parse_args()
    print(
        f"Trustee page, whole share, {args.ballots} ballots x {args.subjects} subjects x 4 grades"
        f" ({os.cpu_count()} cores)",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        head, database, trustees = prepare(tmp, args.ballots, args.subjects)
        key_files = []
        for k, key in enumerate(trustees):
            path = tmp / f"trustee-{k}.key"
            key.save(path, PASSPHRASE)
            key_files.append(path)
        env = server_env(tmp / "instance", f"sqlite:///{database}", tmp / "keys")
        server = start_server(env, tmp / "server.log", port=free_port())
        try:
            results = {}
            with sync_playwright() as pw:
                r = share_once(pw, server.base, head, key_files[0], args.slowdown, args.timeout)
            results["devtools"] = r
            print(
                f"  DevTools {args.slowdown:g}x throttling (main thread only):"
                f" {r['total_s']:6.1f} s (board {r['board_s']:.1f} s, {r['cores']} workers);"
                f" longest main-thread task {r['longest_task_ms']:.0f} ms,"
                f" {r['tasks_over_200ms']} over 200 ms",
                flush=True,
            )
            # The browser and Playwright's driver start inside the cgroup (children inherit it).
            with slower_device(1 / args.slowdown) as share:
                if share is not None:
                    with sync_playwright() as pw:
                        r = share_once(pw, server.base, head, key_files[1], 1, args.timeout)
                    results["device"] = r
                    print(
                        f"  a {args.slowdown:g}x slower device (the browser held to"
                        f" {share:.2f} of {os.cpu_count()} cores):"
                        f" {r['total_s']:6.1f} s (board {r['board_s']:.1f} s);"
                        f" longest main-thread task {r['longest_task_ms']:.0f} ms,"
                        f" {r['tasks_over_200ms']} over 200 ms",
                        flush=True,
                    )
        finally:
            stop_server(server)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
