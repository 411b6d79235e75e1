"""What each unauthenticated endpoint costs the server per request, and what it can store.

Runs the real app in-process (Flask's test client, no network) on a fresh SQLite instance with a
poll of S subjects x 4 grades and N listed slips, and times R requests of each kind one after
the other (median and worst, milliseconds of wall time on one thread), then measures the rows
and bytes an accepted request leaves in the database. The figures of docs/service.md
("Cost of each unauthenticated request") come from this. Figures, not a test.

    .venv/bin/python bench/endpoints.py [--subjects 15] [--repeat 40]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from ballot import db
from tally.ballots import encrypt_ballot, new_seed, rebuild_ciphertexts, signed_bytes
from tally.challenge import make_notice
from tally.credentials import Credential
from tests.support.polls import make_app, prepare_poll, run

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_service import conference_toml

UNLIMITED = {
    f"BALLOT_RATELIMIT_{n}": "100000 per minute"
    for n in ("LOGIN", "CAST", "CREDENTIAL", "SHARES", "CHECK")
}


def timed(repeat: int, request: Callable[[int], Any]) -> tuple[float, float, int]:
    times, status = [], 0
    for k in range(repeat):
        started = time.perf_counter()
        response = request(k)
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return statistics.median(times), max(times), status


def stored_bytes(app: Any) -> int:
    """The database file's pages in use (SQLite): what all rows and indexes take."""
    with app.app_context(), db.engine().connect() as conn:
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()
        free = conn.execute(text("PRAGMA freelist_count")).scalar_one()
        size = conn.execute(text("PRAGMA page_size")).scalar_one()
    return int((pages - free) * size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    slips = 3 * args.repeat + 10
    with tempfile.TemporaryDirectory(prefix="endpoints-") as name:
        tmp = Path(name)
        app = make_app(tmp, f"sqlite:///{tmp / 'ballot.sqlite3'}", **UNLIMITED)
        run(app, "init")
        conf = tmp / "conference.toml"
        conf.write_text(conference_toml(args.subjects, slips), encoding="utf-8")
        run(app, "conference", "import", str(conf))
        poll = prepare_poll(app, tmp, 1, slips)
        ctx = poll.manifest.context
        client = poll.client
        choices: list[int | None] = [1] * ctx.subjects
        print(f"poll of {ctx.subjects} subjects x {ctx.grades} grades, {slips} listed slips")
        honest = [
            json.dumps(encrypt_ballot(ctx, poll.credential(k), choices)).encode()
            for k in range(args.repeat)
        ]
        template = json.loads(honest[0])
        strangers = [Credential.generate() for _ in range(args.repeat)]

        def stranger_ballot(k: int) -> bytes:
            ballot = copy.deepcopy(template)
            ballot["credential"] = strangers[k].public_key.hex()
            return json.dumps(ballot).encode()

        def bad_signature(k: int) -> bytes:
            ballot = json.loads(honest[k])
            ballot["signature"] = os.urandom(64).hex()
            return json.dumps(ballot).encode()

        def bad_proof(k: int) -> bytes:
            """A listed slip's ballot, properly signed, whose last proof is wrong: the most an
            attacker holding a slip can make the server work for one refusal."""
            ballot = json.loads(honest[k])
            proof = ballot["answers"][-1]["sum_proof"]
            first = next(iter(proof))
            proof[first] = ballot["answers"][0]["sum_proof"][first]
            ballot.pop("signature")
            ballot["signature"] = poll.credential(k).sign(signed_bytes(ballot)).hex()
            return json.dumps(ballot).encode()

        notices = [
            make_notice(
                ctx.fingerprint,
                poll.credential(args.repeat + k),
                rebuild_ciphertexts(ctx, choices, new_seed()),
            )
            for k in range(args.repeat)
        ]
        cast = "/api/polls/1/ballots"
        post = lambda body: client.post(cast, data=body, content_type="application/json")  # noqa: E731
        rows: list[tuple[str, tuple[float, float, int]]] = []
        rows.append(("cast, unlisted slip", timed(args.repeat, lambda k: post(stranger_ballot(k)))))
        rows.append(
            (
                "cast, listed slip, bad signature",
                timed(args.repeat, lambda k: post(bad_signature(k))),
            )
        )
        rows.append(
            ("cast, listed slip, a proof wrong", timed(args.repeat, lambda k: post(bad_proof(k))))
        )
        before = stored_bytes(app)
        rows.append(
            ("cast, honest ballot (accepted)", timed(args.repeat, lambda k: post(honest[k])))
        )
        per_ballot = (stored_bytes(app) - before) / args.repeat
        rows.append(("cast, replay of a used slip", timed(args.repeat, lambda k: post(honest[k]))))
        before = stored_bytes(app)
        rows.append(
            (
                "challenge notice (accepted)",
                timed(
                    args.repeat, lambda k: client.post("/api/polls/1/challenges", json=notices[k])
                ),
            )
        )
        per_notice = (stored_bytes(app) - before) / args.repeat
        rows.append(
            (
                "challenge notice, replayed",
                timed(
                    args.repeat, lambda k: client.post("/api/polls/1/challenges", json=notices[k])
                ),
            )
        )
        key = poll.credential(0).public_key.hex()
        rows.append(
            (
                "credential status",
                timed(args.repeat, lambda k: client.get(f"/api/polls/1/credentials/{key}")),
            )
        )
        rows.append(("manifest", timed(args.repeat, lambda k: client.get("/api/polls/1/manifest"))))
        rows.append(
            (
                f"board JSON ({args.repeat} ballots)",
                timed(args.repeat, lambda k: client.get("/api/polls/1/board")),
            )
        )
        rows.append(
            (
                f"board page ({args.repeat} ballots)",
                timed(args.repeat, lambda k: client.get("/polls/1/board")),
            )
        )
        rows.append(("booth page", timed(args.repeat, lambda k: client.get("/booth/1"))))
        login = client.get("/operator/login")
        token = (
            login.get_data(as_text=True)
            .split('name="csrf_token" type="hidden" value="')[-1]
            .split('"')[0]
        )
        rows.append(
            (
                "failed login (unknown user)",
                timed(
                    args.repeat,
                    lambda k: client.post(
                        "/operator/login",
                        data={"username": f"x{k}", "password": "y" * 12, "csrf_token": token},
                    ),
                ),
            )
        )
        print(f"{'request':40} {'median ms':>10} {'worst ms':>10} {'status':>7}")
        for label, (median, worst, status) in rows:
            print(f"{label:40} {median:10.2f} {worst:10.2f} {status:7d}")
        print(f"stored per accepted ballot: {per_ballot / 1024:.1f} KiB (rows and indexes)")
        print(
            f"stored per accepted challenge notice: {per_notice / 1024:.1f} KiB"
            f" ({ctx.subjects * ctx.grades} hashes); at most 5 per slip"
        )
        with app.app_context():
            db.engine().dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
