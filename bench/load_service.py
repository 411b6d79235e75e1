"""Bounded load benchmark for ``ballot serve``: N honest ballots from C client threads.

Prepares a fresh instance (SQLite file or a fresh PostgreSQL database ``ballot_bench_<random>``)
through the ``ballot`` CLI as ``tests/service`` does, pre-encrypts the ballots (not timed), starts
``ballot serve`` as a subprocess on 127.0.0.1, fires the ballots at ``POST /api/polls/<id>/ballots``
and checks that the board holds exactly the accepted ballots. The server is always stopped and the
PostgreSQL database always dropped.

    .venv/bin/python bench/load_service.py --db sqlite --clients 100 --ballots 300
    .venv/bin/python bench/load_service.py --db postgres --clients 100 --ballots 300 --json
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from ballot import create_app, db  # noqa: E402
from tally.ballots import encrypt_ballot  # noqa: E402
from tally.credentials import Credential  # noqa: E402
from tally.manifest import parse_manifest  # noqa: E402
from tally.trustees import TrusteeKey  # noqa: E402

POSTGRES_URL = os.environ.get(
    "BALLOT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CODE_RE = re.compile(r'<div class="code">([A-Z2-7-]+)</div>')
SERVE = [sys.executable, "-c", "from ballot.cli import main; main()", "serve"]
STARTUP_SECONDS = 20.0
REQUEST_TIMEOUT = 30.0
RUN_SECONDS = 120.0
POLL_ID = 1


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def conference_toml(subjects: int, electorate: int) -> str:
    lines = [
        "[conference]",
        'title = "Hội nghị đo tải / load benchmark conference"',
        'body = "Ban Chấp hành (đo tải) / benchmark committee"',
        "date = 2024-01-25",
        f"members = {electorate}",
        f"present = {electorate}",
        "",
        "[[polls]]",
        'title = "Phiếu đo tải / load benchmark poll"',
        'rules = "qd124-2023"',
        f"electorate = {{ members = {electorate}, present = {electorate} }}",
    ]
    for k in range(1, subjects + 1):
        lines += [
            "",
            "[[polls.subjects]]",
            f'key = "bench-{k:02d}"',
            f'name = "Đối tượng {k}"',
            'role = "Ủy viên"',
            'kind = "individual"',
            'peer_group = "bench"',
        ]
    return "\n".join(lines) + "\n"


def run_cli(app: Any, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exit_code != 0:
        raise RuntimeError(f"ballot {' '.join(args)} failed: {result.output} {result.exception!r}")
    return str(result.output)


def prepare(tmp: Path, database_url: str, count: int, subjects: int) -> tuple[list[str], Any]:
    """Init, import, 3 trustees, mint ``count`` credentials, open; return (codes, manifest JSON)."""
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": database_url,
            "KEYS_DIR": str(tmp / "keys"),
            "TESTING": True,
        }
    )
    try:
        run_cli(app, "init")
        conf = tmp / "conference.toml"
        conf.write_text(conference_toml(subjects, max(count, 1)), encoding="utf-8")
        out = run_cli(app, "conference", "import", str(conf))
        if f"poll {POLL_ID}" not in out:
            raise RuntimeError(f"unexpected import output: {out}")
        for k in (1, 2, 3):
            key = TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {k}")
            pub = tmp / f"trustee-{k}.pub.json"
            pub.write_text(json.dumps(key.public.to_json(), ensure_ascii=False), encoding="utf-8")
            run_cli(app, "trustee", "add", str(POLL_ID), str(pub))
        slips = tmp / "slips.html"
        run_cli(
            app, "credentials", "mint", str(POLL_ID), "--count", str(count), "--slips", str(slips)
        )
        codes = CODE_RE.findall(slips.read_text(encoding="utf-8"))
        if len(codes) != count:
            raise RuntimeError(f"parsed {len(codes)} codes from the slips, expected {count}")
        run_cli(app, "poll", "open", str(POLL_ID))
        response = app.test_client().get(f"/api/polls/{POLL_ID}/manifest")
        if response.status_code != 200:
            raise RuntimeError(f"manifest: HTTP {response.status_code}")
        return codes, json.loads(response.data)
    finally:
        with app.app_context():
            db.engine().dispose()


_CTX: Any = None


def _init_worker(manifest_json: Any) -> None:
    global _CTX
    _CTX = parse_manifest(manifest_json).context


def _encrypt(job: tuple[str, int]) -> bytes:
    code, seed = job
    rng = random.Random(seed)
    choices = [rng.randrange(_CTX.grades) for _ in range(_CTX.subjects)]
    ballot = encrypt_ballot(_CTX, Credential.from_code(code), choices)
    return json.dumps(ballot).encode("utf-8")


def pre_encrypt(manifest_json: Any, codes: list[str]) -> list[bytes]:
    procs = min(os.cpu_count() or 1, 2)
    with multiprocessing.get_context("fork").Pool(
        procs, initializer=_init_worker, initargs=(manifest_json,)
    ) as pool:
        return pool.map(_encrypt, [(code, k) for k, code in enumerate(codes)], chunksize=4)


def request(
    url: str, body: bytes | None = None, timeout: float = REQUEST_TIMEOUT
) -> tuple[int, bytes]:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"refusing a non-loopback URL: {url}")
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def wait_until_up(server: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text(encoding='utf-8')}")
        try:
            status, _ = request(f"{base}/api/polls/{POLL_ID}/manifest", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not answering after {STARTUP_SECONDS:.0f} s")
        time.sleep(0.1)


def fire(base: str, bodies: list[bytes], clients: int) -> dict[str, Any]:
    url = f"{base}/api/polls/{POLL_ID}/ballots"
    lock = threading.Lock()
    next_index = [0]
    results: list[tuple[float, str, bytes]] = []  # (latency s, status, body)
    start = time.perf_counter()
    stop_at = start + RUN_SECONDS

    def client() -> None:
        while True:
            with lock:
                k = next_index[0]
                if k >= len(bodies) or time.perf_counter() > stop_at:
                    return
                next_index[0] += 1
            t0 = time.perf_counter()
            try:
                status, data = request(url, bodies[k])
                outcome = str(status)
            except OSError as exc:  # timeouts, resets, refused
                outcome, data = type(exc).__name__, b""
            elapsed = time.perf_counter() - t0
            with lock:
                results.append((elapsed, outcome, data))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(RUN_SECONDS + REQUEST_TIMEOUT + 5)
    wall = time.perf_counter() - start
    return {"results": list(results), "wall": wall, "sent": next_index[0]}


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(
        0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1)
    )  # nearest rank
    return sorted_values[rank]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--ballots", type=int, default=300)
    parser.add_argument("--subjects", type=int, default=15)
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.ballots < 1 or args.clients < 1 or args.subjects < 1:
        parser.error("--ballots, --clients and --subjects must be >= 1")

    admin = None
    db_name = None
    server: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="ballot-bench-") as tmpdir:
        tmp = Path(tmpdir)
        try:
            if args.db == "postgres":
                admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
                db_name = f"ballot_bench_{secrets.token_hex(6)}"
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{db_name}"'))
                database_url = (
                    make_url(POSTGRES_URL)
                    .set(database=db_name)
                    .render_as_string(hide_password=False)
                )
            else:
                database_url = f"sqlite:///{tmp / 'ballot.sqlite3'}"

            t0 = time.perf_counter()
            codes, manifest_json = prepare(tmp, database_url, args.ballots, args.subjects)
            prepare_s = time.perf_counter() - t0
            log(
                f"prepared poll {POLL_ID} ({args.db}) with {len(codes)} credentials"
                f" in {prepare_s:.1f} s"
            )

            t0 = time.perf_counter()
            bodies = pre_encrypt(manifest_json, codes)
            encrypt_s = time.perf_counter() - t0
            log(f"pre-encrypted {len(bodies)} ballots in {encrypt_s:.1f} s (not timed)")

            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = dict(os.environ)
            env.update(
                BALLOT_INSTANCE=str(tmp / "instance"),
                BALLOT_DATABASE_URL=database_url,
                BALLOT_KEYS_DIR=str(tmp / "keys"),
                PYTHONUNBUFFERED="1",
                PYTHONIOENCODING="utf-8",
            )
            for name in ("FLASK_APP", "FLASK_DEBUG", "FLASK_RUN_PORT", "FLASK_RUN_HOST"):
                env.pop(name, None)
            log_path = tmp / "server.log"
            with log_path.open("wb") as server_log:
                server = subprocess.Popen(
                    [
                        *SERVE,
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--threads",
                        str(args.threads),
                    ],
                    env=env,
                    cwd=str(ROOT),
                    stdout=server_log,
                    stderr=subprocess.STDOUT,
                )
            wait_until_up(server, base, log_path)
            log(
                f"server up at {base} ({args.threads} threads);"
                f" firing {len(bodies)} ballots from {args.clients} clients"
            )

            run = fire(base, bodies, args.clients)
            results = run["results"]
            wall = run["wall"]
            latencies = sorted(r[0] * 1000 for r in results)
            statuses = Counter(r[1] for r in results)
            accepted_hashes = set()
            for _, outcome, data in results:
                if outcome == "201":
                    accepted_hashes.add(json.loads(data)["tracking_hash"])
            accepted = statuses.get("201", 0)
            not_sent = len(bodies) - run["sent"]

            status, data = request(f"{base}/api/polls/{POLL_ID}/board")
            if status != 200:
                raise RuntimeError(f"board: HTTP {status}")
            board = json.loads(data)
            board_hashes = {e["tracking_hash"] for e in board["entries"]}
            positions = [e["position"] for e in board["entries"]]
            board_ok = (
                board["count"] == accepted
                and len(board["entries"]) == accepted
                and board_hashes == accepted_hashes
                and positions == list(range(1, accepted + 1))
            )
            summary = {
                "db": args.db,
                "clients": args.clients,
                "ballots": args.ballots,
                "subjects": args.subjects,
                "server_threads": args.threads,
                "prepare_s": round(prepare_s, 2),
                "pre_encrypt_s": round(encrypt_s, 2),
                "wall_s": round(wall, 3),
                "accepted": accepted,
                "ballots_per_s": round(accepted / wall, 2) if wall > 0 else None,
                "latency_ms": {
                    "median": round(statistics.median(latencies), 1) if latencies else None,
                    "p99": round(percentile(latencies, 0.99), 1) if latencies else None,
                    "max": round(latencies[-1], 1) if latencies else None,
                },
                "non_201": {k: v for k, v in sorted(statuses.items()) if k != "201"},
                "not_sent": not_sent,
                "board_count": board["count"],
                "board_ok": board_ok,
            }
            if args.json:
                print(json.dumps(summary, ensure_ascii=False))
            else:
                lat = summary["latency_ms"]
                print(
                    f"db={args.db} clients={args.clients} ballots={args.ballots} "
                    f"subjects={args.subjects} server threads={args.threads}"
                )
                print(
                    f"throughput: {summary['ballots_per_s']} ballots/s "
                    f"({accepted} accepted in {wall:.2f} s)"
                )
                print(f"latency ms: median {lat['median']}  p99 {lat['p99']}  max {lat['max']}")
                print(f"non-201: {summary['non_201'] or 'none'}; not sent (time bound): {not_sent}")
                print(
                    f"board: {board['count']} entries; "
                    f"{'OK, matches the accepted ballots' if board_ok else 'MISMATCH'}"
                )
            return 0 if board_ok and accepted == len(bodies) else 1
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=10)
            if admin is not None:
                try:
                    if db_name is not None:
                        with admin.connect() as conn:
                            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
                        log(f"dropped database {db_name}")
                finally:
                    admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
