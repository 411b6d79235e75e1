"""Bounded load benchmark for ``ballot serve``: a conference's tablets casting through real HTTP.

Two load shapes, both on 127.0.0.1 only:

- ``--mode paced`` (default): N tablets each cast one ballot, their arrival times spread over
  ``--spread`` seconds (``--arrivals poisson``: N independent uniform times, i.e. a Poisson process
  with N arrivals in the window, clumps included; ``even``: evenly spaced). Each tablet is its own
  client thread with its own TCP connection. This is what a conference hall looks like.
- ``--mode burst``: the same N ballots fired as fast as ``--clients`` threads can send them
  (capacity, and latency when everyone presses "cast" at once).

It prepares a fresh instance (SQLite file, or a fresh PostgreSQL database ``ballot_bench_<random>``)
through the ``ballot`` CLI as ``tests/service`` does, pre-encrypts the ballots before the timed run
(the encryption runs on the tablets in reality; it must not load the server's two cores here),
starts ``--servers`` ``ballot serve`` processes on their own ports against the one database (the
client spreads the tablets round-robin over them, a stand-in for a load balancer: waitress is
single-process), and times the casts. Afterwards it checks, from the API, that the board holds
exactly the ballots whose receipts were returned, at the receipts' positions and heads, and that
the hash chain recomputes; then it closes the poll, exports the trustees' files with
``ballot count start`` and runs the auditor's board check (``tally.verify.check_board``) on them,
and reconciles the credential table with the board. Servers are always stopped and the PostgreSQL
database always dropped.

    .venv/bin/python bench/load_service.py --db sqlite                      # 300 tablets over 30 s
    .venv/bin/python bench/load_service.py --db postgres --servers 2
    .venv/bin/python bench/load_service.py --db sqlite --mode burst --clients 100
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from ballot import db  # noqa: E402
from ballot.models import Ballot, Credential  # noqa: E402
from tally.ballots import encrypt_ballot, verify_ballot  # noqa: E402
from tally.board import genesis, next_head  # noqa: E402
from tally.canonical import parse_json  # noqa: E402
from tally.credentials import Credential as SlipCredential  # noqa: E402
from tally.manifest import parse_manifest  # noqa: E402
from tally.trustees import TrusteeKey  # noqa: E402
from tally.verify import check_board  # noqa: E402
from tests.support.polls import attest, board_mint, conference_toml, make_app  # noqa: E402
from tests.support.polls import run as run_cli  # noqa: E402
from tests.support.server import (  # noqa: E402
    Server,
    request,
    server_env,
    start_server,
    stop_server,
    wait_until,
)

POSTGRES_URL = os.environ.get(
    "BALLOT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
STARTUP_SECONDS = 20.0
REQUEST_TIMEOUT = 30.0
RUN_SECONDS = 120.0  # burst mode: no new request after this
MAX_SPREAD = 600.0
POLL_ID = 1
P99_GOAL_MS = 1000.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- preparing the poll ---------------------------------------------------------------------


def prepare(tmp: Path, database_url: str, count: int, subjects: int) -> tuple[list[str], Any]:
    """Init, import, 3 trustees, the Board's list of ``count`` slips, open; (codes, manifest)."""
    app = make_app(tmp, database_url)
    try:
        run_cli(app, "init")
        conf = tmp / "conference.toml"
        conf.write_text(conference_toml(subjects, max(count, 1)), encoding="utf-8")
        out = run_cli(app, "conference", "import", str(conf))
        if f"poll {POLL_ID}" not in out:
            raise RuntimeError(f"unexpected import output: {out}")
        for k in (1, 2, 3):
            key = TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {k}")
            TRUSTEES.append(key)
            pub = tmp / f"trustee-{k}.pub.json"
            pub.write_text(json.dumps(key.public.to_json(), ensure_ascii=False), encoding="utf-8")
            run_cli(app, "trustee", "add", str(POLL_ID), str(pub))
        # The Board's slips, minted off the server (tally.authority), imported as its list.
        codes, _ = board_mint(app, tmp, POLL_ID, count)
        run_cli(app, "poll", "open", str(POLL_ID), "--acknowledge-unconfirmed-rules")
        response = app.test_client().get(f"/api/polls/{POLL_ID}/manifest")
        if response.status_code != 200:
            raise RuntimeError(f"manifest: HTTP {response.status_code}")
        return codes, json.loads(response.data)
    finally:
        with app.app_context():
            db.engine().dispose()


_CTX: Any = None
TRUSTEES: list[TrusteeKey] = []  # prepare's keys; the first signs the attendance in audit


def _init_worker(manifest_json: Any) -> None:
    global _CTX
    _CTX = parse_manifest(manifest_json).context


def _encrypt(job: tuple[str, int]) -> bytes:
    code, seed = job
    rng = random.Random(seed)
    choices = [rng.randrange(_CTX.grades) for _ in range(_CTX.subjects)]
    ballot = encrypt_ballot(_CTX, SlipCredential.from_code(code), choices)
    return json.dumps(ballot).encode("utf-8")


def pre_encrypt(manifest_json: Any, codes: list[str]) -> list[bytes]:
    procs = min(os.cpu_count() or 1, 2)
    with multiprocessing.get_context("fork").Pool(
        procs, initializer=_init_worker, initargs=(manifest_json,)
    ) as pool:
        return pool.map(_encrypt, [(code, k) for k, code in enumerate(codes)], chunksize=4)


# --- HTTP -----------------------------------------------------------------------------------


VERIFY_PROCESSES: str | None = None  # --verify-processes: BALLOT_VERIFY_PROCESSES of the servers


def start(tmp: Path, database_url: str, threads: int, index: int) -> Server:
    env = server_env(tmp / "instance", database_url, tmp / "keys")
    if VERIFY_PROCESSES is not None:
        env["BALLOT_VERIFY_PROCESSES"] = VERIFY_PROCESSES
    return start_server(env, tmp / f"server-{index}.log", threads=threads, wait=False)


def wait_until_up(server: Server) -> None:
    ready = f"{server.base}/api/polls/{POLL_ID}/manifest"
    wait_until(server, lambda: _answers(ready), seconds=STARTUP_SECONDS)


def _answers(url: str) -> bool:
    try:
        return request(url, timeout=2)[0] == 200
    except OSError:
        return False


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (Linux /proc), 0 if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _descendants(pid: int) -> list[int]:
    """The process's children, grandchildren, … (Linux /proc/<pid>/task/*/children)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text(encoding="ascii").split()
        except OSError:
            continue
        for child in map(int, children):
            out += [child, *_descendants(child)]
    return out


def server_cpu_seconds(pid: int) -> float:
    """CPU of a ``ballot serve`` and its verifier processes (a forkserver and its workers)."""
    return sum(process_cpu_seconds(p) for p in [pid, *_descendants(pid)])


def serving_cpu_seconds(pid: int) -> float:
    """CPU of the ``ballot serve`` process itself (HTTP, JSON, database), without its verifiers."""
    return process_cpu_seconds(pid)


def backend_cpu(admin: Any, db_name: str | None) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving ``db_name`` (same machine only)."""
    if admin is None or db_name is None:
        return {}
    with admin.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": db_name}
        ).scalars()
        return {int(pid): process_cpu_seconds(int(pid)) for pid in pids}


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    try:
        values = [float(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return float("nan"), float("nan")
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)
    total = sum(values[:8])
    return total - idle, total


# --- the timed run --------------------------------------------------------------------------


@dataclass
class Outcome:
    index: int  # which ballot
    server: int
    sent_at: float  # seconds after the run's start
    lag: float  # how late the client thread sent it (client-side overload), seconds
    latency: float  # seconds from sending to the full response
    status: str  # "201", "409", … or the exception's name
    body: bytes


def cast_one(url: str, body: bytes) -> tuple[str, bytes]:
    try:
        status, data = request(url, body)
        return str(status), data
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, refused
        return type(exc).__name__, b""


def arrival_times(n: int, spread: float, kind: str, seed: int) -> list[float]:
    if kind == "even":
        return [spread * k / n for k in range(n)]
    rng = random.Random(seed)
    return sorted(rng.uniform(0.0, spread) for _ in range(n))


def paced(servers: list[Server], bodies: list[bytes], arrivals: list[float]) -> list[Outcome]:
    """One thread per tablet, each sending its ballot at its arrival time."""
    urls = [f"{s.base}/api/polls/{POLL_ID}/ballots" for s in servers]
    results: list[Outcome | None] = [None] * len(bodies)
    threading.stack_size(512 * 1024)
    start = time.perf_counter() + 1.0  # every thread is waiting before the first arrival

    def tablet(k: int) -> None:
        target = start + arrivals[k]
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t0 = time.perf_counter()
        server = k % len(urls)
        status, data = cast_one(urls[server], bodies[k])
        t1 = time.perf_counter()
        results[k] = Outcome(k, server, t0 - start, t0 - target, t1 - t0, status, data)

    threads = [threading.Thread(target=tablet, args=(k,), daemon=True) for k in range(len(bodies))]
    for t in threads:
        t.start()
    deadline = start + (arrivals[-1] if arrivals else 0.0) + REQUEST_TIMEOUT + 10
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))
    return [r for r in results if r is not None]


def burst(servers: list[Server], bodies: list[bytes], clients: int) -> list[Outcome]:
    """``clients`` threads sending the ballots back to back, as fast as they are answered."""
    urls = [f"{s.base}/api/polls/{POLL_ID}/ballots" for s in servers]
    lock = threading.Lock()
    next_index = [0]
    results: list[Outcome] = []
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
            server = k % len(urls)
            status, data = cast_one(urls[server], bodies[k])
            t1 = time.perf_counter()
            with lock:
                results.append(Outcome(k, server, t0 - start, 0.0, t1 - t0, status, data))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(RUN_SECONDS + REQUEST_TIMEOUT + 5)
    with lock:
        return list(results)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[rank]


# --- checks afterwards ----------------------------------------------------------------------


def check_api_board(
    base: str, fingerprint: bytes, receipts: dict[int, dict[str, Any]]
) -> tuple[list[str], dict[str, Any]]:
    """The public board against the receipts: same ballots, at their positions, chain intact."""
    problems: list[str] = []
    status, data = request(f"{base}/api/polls/{POLL_ID}/board")
    if status != 200:
        return [f"board: HTTP {status}"], {}
    board = json.loads(data)
    entries = board["entries"]
    if [e["position"] for e in entries] != list(range(1, len(entries) + 1)):
        problems.append("board positions are not 1..N without gaps")
    if board["count"] != len(entries) or len(entries) != len(receipts):
        problems.append(f"board has {len(entries)} entries, {len(receipts)} receipts were returned")
    if {e["tracking_hash"] for e in entries} != {r["tracking_hash"] for r in receipts.values()}:
        problems.append("the board's tracking hashes differ from the receipts'")
    by_position = {e["position"]: e for e in entries}
    wrong = [
        r["position"]
        for r in receipts.values()
        if by_position.get(r["position"], {}).get("tracking_hash") != r["tracking_hash"]
        or by_position[r["position"]]["head"] != r["board_head"]
    ]
    if wrong:
        problems.append(f"receipts whose position/head differ from the board: {wrong[:5]}")
    head = genesis(fingerprint)
    for e in entries:
        head = next_head(head, bytes.fromhex(e["tracking_hash"]))
        if e["head"] != head.hex():
            problems.append(f"chain breaks at position {e['position']}")
            break
    if board["head"] != head.hex():
        problems.append("the board head is not the chain recomputed from its entries")
    return problems, board


def audit(tmp: Path, database_url: str, board: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Close, export the trustees' files (``ballot count start``), run the auditor's board check
    and reconcile the credential table with the board. Runs after the servers are stopped."""
    problems: list[str] = []
    app = make_app(tmp, database_url)
    out_dir = tmp / "trustee-files"
    try:
        run_cli(app, "poll", "close", str(POLL_ID))
        attest(app, POLL_ID, TRUSTEES[0])
        t0 = time.perf_counter()
        run_cli(app, "count", "start", str(POLL_ID), "--out-dir", str(out_dir))
        export_s = time.perf_counter() - t0
        with app.app_context():
            session = db.get_session()
            ballot_creds = list(session.scalars(select(Ballot.credential)))
            used = set(session.scalars(select(Credential.public_key).where(Credential.used)))
            n_used = session.scalar(select(func.count()).where(Credential.used.is_(True)))
    finally:
        with app.app_context():
            db.engine().dispose()
    if len(set(ballot_creds)) != len(ballot_creds):
        problems.append("a credential has two ballots")
    if set(ballot_creds) != used or n_used != len(ballot_creds):
        problems.append(
            f"credentials marked used ({n_used}) differ from the ballots' credentials"
            f" ({len(ballot_creds)})"
        )
    manifest = parse_manifest(parse_json((out_dir / "manifest.json").read_bytes()))
    jsonl = (out_dir / "ballots.jsonl").read_bytes()
    t0 = time.perf_counter()
    report, verified = check_board(manifest, jsonl, workers=min(os.cpu_count() or 1, 2))
    check_s = time.perf_counter() - t0
    failed = [f"{c.name}: {c.detail_en}" for c in report.checks if not c.ok]
    problems += [f"tally.verify.check_board: {f}" for f in failed]
    lines = [parse_json(line) for line in jsonl.splitlines()]
    if [e["tracking_hash"] for e in lines] != [e["tracking_hash"] for e in board["entries"]]:
        problems.append("the exported ballots.jsonl is not the board the API showed")
    if lines and lines[-1]["chain"] != board["head"]:
        problems.append("the exported chain's head is not the API's board head")
    return problems, {
        "check_board": "OK" if report.ok else "FAILED",
        "checks": [c.name for c in report.checks],
        "ballots_checked": verified.count if verified is not None else 0,
        "credentials_used": n_used,
        "export_s": round(export_s, 1),
        "check_board_s": round(check_s, 1),
    }


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--mode", choices=("paced", "burst"), default="paced")
    parser.add_argument(
        "--ballots", "--tablets", dest="ballots", type=int, default=300, help="N (300)"
    )
    parser.add_argument("--spread", type=float, default=30.0, help="paced: arrival window, s")
    parser.add_argument("--arrivals", choices=("poisson", "even"), default="poisson")
    parser.add_argument("--clients", type=int, default=100, help="burst: client threads (100)")
    parser.add_argument("--servers", type=int, default=1, help="ballot serve processes (1)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per server (8)")
    parser.add_argument("--subjects", type=int, default=15)
    parser.add_argument("--seed", type=int, default=2023, help="arrival times and grades")
    parser.add_argument("--no-audit", action="store_true", help="skip close/export/check_board")
    parser.add_argument(
        "--verify-processes",
        help="BALLOT_VERIFY_PROCESSES of each server (default: its default, one per core)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    global VERIFY_PROCESSES
    VERIFY_PROCESSES = args.verify_processes
    if min(args.ballots, args.clients, args.subjects, args.servers, args.threads) < 1:
        parser.error("--ballots, --clients, --subjects, --servers and --threads must be >= 1")
    if not 0 < args.spread <= MAX_SPREAD:
        parser.error(f"--spread must be in (0, {MAX_SPREAD:.0f}] seconds")
    if args.servers > 8:
        parser.error("--servers is at most 8 on this benchmark")

    admin = None
    db_name = None
    servers: list[Server] = []
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
            fingerprint = parse_manifest(manifest_json).fingerprint
            log(
                f"prepared poll {POLL_ID} ({args.db}) with {len(codes)} credentials"
                f" in {prepare_s:.1f} s"
            )

            t0 = time.perf_counter()
            bodies = pre_encrypt(manifest_json, codes)
            encrypt_s = time.perf_counter() - t0
            # The same run's yardstick: one thread verifying one ballot (issue 19's ratio).
            context = parse_manifest(manifest_json).context
            sample = json.loads(bodies[0])
            spent = []
            for _ in range(11):
                t1 = time.perf_counter()
                verify_ballot(context, sample)
                spent.append(time.perf_counter() - t1)
            verify_ms = statistics.median(spent) * 1000
            log(
                f"pre-encrypted {len(bodies)} ballots in {encrypt_s:.1f} s, before the timed run:"
                " on a real conference the tablets encrypt, not this machine"
            )

            for k in range(args.servers):
                servers.append(start(tmp, database_url, args.threads, k))
            for server in servers:
                wait_until_up(server)
            where = ", ".join(s.base for s in servers)
            log(f"{args.servers} server(s) up ({args.threads} waitress threads each): {where}")

            cpu_before = [server_cpu_seconds(s.process.pid) for s in servers]
            serving_before = [serving_cpu_seconds(s.process.pid) for s in servers]
            backends_before = backend_cpu(admin, db_name)
            client_before = resource.getrusage(resource.RUSAGE_SELF)
            machine_before = machine_cpu()
            t0 = time.perf_counter()
            if args.mode == "paced":
                arrivals = arrival_times(len(bodies), args.spread, args.arrivals, args.seed)
                log(
                    f"paced: {len(bodies)} tablets, {args.arrivals} arrivals over"
                    f" {args.spread:.0f} s ({len(bodies) / args.spread:.1f}/s offered)"
                )
                results = paced(servers, bodies, arrivals)
            else:
                log(f"burst: {len(bodies)} ballots from {args.clients} client threads")
                results = burst(servers, bodies, args.clients)
            run_s = time.perf_counter() - t0
            machine_after = machine_cpu()
            client_after = resource.getrusage(resource.RUSAGE_SELF)
            client_cpu = (client_after.ru_utime + client_after.ru_stime) - (
                client_before.ru_utime + client_before.ru_stime
            )
            server_cpu = sum(
                server_cpu_seconds(s.process.pid) - b
                for s, b in zip(servers, cpu_before, strict=True)
            )
            serving_cpu = sum(
                serving_cpu_seconds(s.process.pid) - b
                for s, b in zip(servers, serving_before, strict=True)
            )
            backends_after = backend_cpu(admin, db_name)
            database_cpu = sum(
                cpu - backends_before.get(pid, 0.0) for pid, cpu in backends_after.items()
            )

            latencies = sorted(r.latency * 1000 for r in results)
            accepted_lat = sorted(r.latency * 1000 for r in results if r.status == "201")
            statuses = Counter(r.status for r in results)
            receipts = {r.index: json.loads(r.body) for r in results if r.status == "201"}
            accepted = len(receipts)
            not_sent = len(bodies) - len(results)
            if results:
                first = min(r.sent_at for r in results)
                last = max(r.sent_at + r.latency for r in results)
                span = last - first
            else:
                span = run_s
            busy = machine_after[0] - machine_before[0]
            total = machine_after[1] - machine_before[1]

            problems, board = check_api_board(servers[0].base, fingerprint, receipts)
            for server in servers:
                stop_server(server)
            audit_summary: dict[str, Any] = {"skipped": True}
            if not args.no_audit and board:
                log("closing the poll, exporting with `ballot count start`, checking the board")
                audit_problems, audit_summary = audit(tmp, database_url, board)
                problems += audit_problems

            summary = {
                "db": args.db,
                "mode": args.mode,
                "ballots": args.ballots,
                "subjects": args.subjects,
                "servers": args.servers,
                "server_threads": args.threads,
                "arrivals": args.arrivals if args.mode == "paced" else None,
                "spread_s": args.spread if args.mode == "paced" else None,
                "offered_per_s": round(len(bodies) / args.spread, 2)
                if args.mode == "paced"
                else None,
                "clients": args.clients if args.mode == "burst" else len(bodies),
                "prepare_s": round(prepare_s, 2),
                "pre_encrypt_s": round(encrypt_s, 2),
                "span_s": round(span, 3),
                "accepted": accepted,
                "ballots_per_s": round(accepted / span, 2) if span > 0 else None,
                "latency_ms": {
                    "median": round(statistics.median(latencies), 1) if latencies else None,
                    "p90": round(percentile(latencies, 0.90), 1) if latencies else None,
                    "p99": round(percentile(latencies, 0.99), 1) if latencies else None,
                    "max": round(latencies[-1], 1) if latencies else None,
                    "min": round(latencies[0], 1) if latencies else None,
                },
                "accepted_latency_median_ms": round(statistics.median(accepted_lat), 1)
                if accepted_lat
                else None,
                "client_cpu_s": round(client_cpu, 2),
                "postgres_cpu_ms_per_ballot": round(database_cpu * 1000 / accepted, 1)
                if accepted and args.db == "postgres"
                else None,
                "server_cpu_s": round(server_cpu, 2),
                "client_send_lag_max_ms": round(max((r.lag for r in results), default=0) * 1000, 1),
                "errors": {k: v for k, v in sorted(statuses.items()) if k != "201"},
                "not_sent": not_sent,
                "server_cpu_ms_per_ballot": round(server_cpu * 1000 / accepted, 1)
                if accepted
                else None,
                "serving_cpu_ms_per_ballot": round(serving_cpu * 1000 / accepted, 1)
                if accepted
                else None,
                "verify_ballot_ms": round(verify_ms, 1),
                "server_cpu_over_verify": round(server_cpu * 1000 / accepted / verify_ms, 2)
                if accepted
                else None,
                "machine_busy_pct": round(100 * busy / total, 1) if total > 0 else None,
                # Busy time that is neither the servers, nor this client, nor the PostgreSQL
                # backends serving the benchmark's database: other jobs on the machine.
                "others_busy_pct": round(
                    100
                    * (busy / CLK_TCK - server_cpu - client_cpu - database_cpu)
                    / (total / CLK_TCK),
                    1,
                )
                if total > 0
                else None,
                "board_count": board.get("count"),
                "board_ok": not problems,
                "problems": problems,
                "audit": audit_summary,
            }
            ok = not problems and accepted == len(bodies)
            if args.json:
                print(json.dumps(summary, ensure_ascii=False))
            else:
                print_summary(summary)
            return 0 if ok else 1
        finally:
            for server in servers:
                stop_server(server)
            if admin is not None:
                try:
                    if db_name is not None:
                        with admin.connect() as conn:
                            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
                        log(f"dropped database {db_name}")
                finally:
                    admin.dispose()


def print_summary(s: dict[str, Any]) -> None:
    lat = s["latency_ms"]
    setup = f"{s['servers']} x `ballot serve` ({s['server_threads']} waitress threads each)" + (
        ", requests spread round-robin by the client (a stand-in for a load balancer)"
        if s["servers"] > 1
        else ""
    )
    print(f"== ballot serve load: {s['db']}, {setup}")
    if s["mode"] == "paced":
        print(
            f"   paced: {s['ballots']} tablets x 1 ballot of {s['subjects']} subjects,"
            f" {s['arrivals']} arrivals over {s['spread_s']:.0f} s"
            f" ({s['offered_per_s']}/s offered), one thread and connection per tablet"
        )
    else:
        print(
            f"   burst: {s['ballots']} ballots of {s['subjects']} subjects from"
            f" {s['clients']} concurrent client threads"
        )
    print(
        f"   ballots pre-encrypted before the run ({s['pre_encrypt_s']} s, not timed): on a real"
        " conference the tablets encrypt, the server only verifies"
    )
    print(
        f"   throughput   {s['ballots_per_s']} ballots/s"
        f" ({s['accepted']} accepted in {s['span_s']:.2f} s)"
    )
    goal = ""
    if s["mode"] == "paced":
        met = lat["p99"] is not None and lat["p99"] < P99_GOAL_MS
        goal = f"  (goal p99 < {P99_GOAL_MS:.0f} ms: {'met' if met else 'MISSED'})"
    print(
        f"   latency ms   median {lat['median']}  p90 {lat['p90']}  p99 {lat['p99']}"
        f"  max {lat['max']}{goal}"
    )
    errors = ", ".join(f"{k}: {v}" for k, v in s["errors"].items()) or "none"
    print(f"   errors       {errors}; not sent: {s['not_sent']}")
    database = (
        f"; PostgreSQL backends {s['postgres_cpu_ms_per_ballot']} ms per ballot"
        if s["postgres_cpu_ms_per_ballot"] is not None
        else ""
    )
    print(
        f"   CPU          servers {s['server_cpu_ms_per_ballot']} ms per ballot"
        f" ({s['server_cpu_s']} s in all; {s['serving_cpu_ms_per_ballot']} ms in the serving"
        f" process, the rest in its verifier processes){database}; load client"
        f" {s['client_cpu_s']} s; client send lag max {s['client_send_lag_max_ms']} ms"
    )
    print(
        f"   vs verify    single-thread verify_ballot {s['verify_ballot_ms']} ms in this run:"
        f" servers' CPU per ballot / verify_ballot = {s['server_cpu_over_verify']}"
    )
    others = s["others_busy_pct"]
    print(
        f"   machine      {s['machine_busy_pct']}% of its {os.cpu_count()} cores busy during the"
        f" run, {others}% by other jobs (neither the servers, this client nor the database)"
    )
    if others is not None and others > 10:
        print(
            "   NOTE         other jobs competed for the cores during the run: the latencies are"
            " pessimistic; rerun on an idle machine for clean figures"
        )
    verdict = "OK" if s["board_ok"] else "PROBLEMS: " + "; ".join(s["problems"])
    print(
        f"   board        {s['board_count']} entries = the receipts, positions 1..N, chain"
        f" recomputed: {verdict}"
    )
    audit_summary = s["audit"]
    if not audit_summary.get("skipped"):
        print(
            f"   audit        poll closed, `ballot count start` export"
            f" ({audit_summary['export_s']} s), tally.verify.check_board on manifest.json +"
            f" ballots.jsonl: {audit_summary['check_board']}"
            f" ({', '.join(audit_summary['checks'])}; {audit_summary['check_board_s']} s);"
            f" {audit_summary['credentials_used']} credentials used = ballots"
        )


if __name__ == "__main__":
    sys.exit(main())
