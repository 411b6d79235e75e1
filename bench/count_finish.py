"""Time from ``ballot count finish`` to a signed record, for a poll of N ballots x S subjects.

Runs the real service in-process on a fresh SQLite instance (or PostgreSQL with --db postgres):
import a conference, three trustees, import the Board's list of N slips, open, cast N ballots
through the JSON API (encrypted beforehand, in parallel), close, a trustee's signed attendance,
``count start``, the three trustees' shares, then times
``ballot count finish`` (combine, grade, sign, store the bundle) and checks the bundle with
``tally verify``. Figures, not a test.

    .venv/bin/python bench/count_finish.py [--ballots 500] [--subjects 15]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_service import conference_toml, make_app, pre_encrypt, run_cli

from ballot import db
from tally.canonical import parse_json
from tally.trustees import TrusteeKey
from tally.verify import verify_bundle
from tests.support.polls import attest, board_mint


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=500)
    parser.add_argument("--subjects", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="count-finish-") as name:
        tmp = Path(name)
        app = make_app(tmp, f"sqlite:///{tmp / 'ballot.sqlite3'}")
        run_cli(app, "init")
        conf = tmp / "conference.toml"
        conf.write_text(conference_toml(args.subjects, args.ballots), encoding="utf-8")
        run_cli(app, "conference", "import", str(conf))
        keys = [TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {k}") for k in (1, 2, 3)]
        for k, key in enumerate(keys):
            pub = tmp / f"t{k}.pub.json"
            pub.write_text(json.dumps(key.public.to_json(), ensure_ascii=False), encoding="utf-8")
            run_cli(app, "trustee", "add", "1", str(pub))
        codes, _ = board_mint(app, tmp, 1, args.ballots)
        run_cli(app, "poll", "open", "1")
        client = app.test_client()
        manifest = json.loads(client.get("/api/polls/1/manifest").data)
        print(f"encrypting {len(codes)} ballots of {args.subjects} subjects …", flush=True)
        bodies = pre_encrypt(manifest, codes)
        started = time.perf_counter()
        for body in bodies:
            response = client.post(
                "/api/polls/1/ballots", data=body, content_type="application/json"
            )
            assert response.status_code == 201, response.get_json()
        cast_s = time.perf_counter() - started
        run_cli(app, "poll", "close", "1")
        attest(app, 1, keys[0])
        started = time.perf_counter()
        run_cli(app, "count", "start", "1", "--out-dir", str(tmp / "out"))
        start_s = time.perf_counter() - started
        aggregate = parse_json((tmp / "out" / "aggregate.json").read_bytes())
        for k, key in enumerate(keys):
            share = tmp / f"share-{k}.json"
            share.write_text(json.dumps(key.decrypt_share(aggregate)), encoding="utf-8")
            run_cli(app, "count", "share", "1", str(share))
        started = time.perf_counter()
        run_cli(app, "count", "finish", "1")
        finish_s = time.perf_counter() - started
        bundle = client.get("/api/polls/1/bundle").data
        report = verify_bundle(bundle)
        with app.app_context():
            db.engine().dispose()
    print(f"{args.ballots} ballots x {args.subjects} subjects, SQLite, in-process:")
    print(f"  casts (verify + chain, serial):         {cast_s:6.1f} s")
    print(f"  count start (re-verify the board):      {start_s:6.1f} s")
    print(f"  count finish -> signed record + bundle: {finish_s:6.2f} s")
    print(f"  bundle {len(bundle) / 1e6:.1f} MB; tally verify: {'OK' if report.ok else 'FAILED'}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
