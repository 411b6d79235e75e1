"""`ballot demo --no-serve` (what `make demo` runs before serving): the sample conference set up,
every poll open, slips and trustee keys written privately, and a slip from them casts.

The demo is the one place the server plays the Organization Board (``demo_mint``, a throw-away
authority key): one slip per member present, the list imported as ``credentials.import`` and its
authority's fingerprint printed on the sheet."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from flask import Flask

from ballot import db
from ballot.models import Poll
from tally.ballots import encrypt_ballot
from tally.credentials import Credential
from tally.manifest import parse_manifest
from tally.record import key_fingerprint
from tally.trustees import TrusteeKey

from .conftest import CODE_RE


def test_demo_sets_up_the_sample_conference(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "/operator/" in result.output and str(out / "slips-poll-2.html") in result.output
    # The 2026 sample: the BTV's self-grade of the Đảng bộ tỉnh is counted first (simulated
    # ballots), then the BCH's adoption poll opens on its record.
    assert "http://127.0.0.1:5000/polls/1/record" in result.output
    with app.app_context():
        polls = db.get_session().query(Poll).order_by(Poll.id).all()
        assert [p.state for p in polls] == ["closed", "open", "open", "open"]
        present = {p.id: p.present for p in polls}
    assert present == {1: 15, 2: 15, 3: 15, 4: 48}  # poll 4: the BCH's 48 present of 50
    for path in (out / "operator.txt", out / "trustees" / "passphrase.txt"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    passphrase = (out / "trustees" / "passphrase.txt").read_text(encoding="utf-8").strip()
    client = app.test_client()
    for poll_id, count in present.items():
        slips = out / f"slips-poll-{poll_id}.html"
        assert stat.S_IMODE(slips.stat().st_mode) == 0o600
        sheet = slips.read_text(encoding="utf-8")
        codes = CODE_RE.findall(sheet)
        assert len(codes) == len(set(codes)) == count
        # The published list holds exactly the sheet's keys, signed by the key on the sheet.
        manifest = parse_manifest(client.get(f"/api/polls/{poll_id}/manifest").get_json())
        assert sorted(Credential.from_code(c).public_key for c in codes) == sorted(
            manifest.credentials
        )
        assert manifest.authority is not None and manifest.reserve == 0
        assert key_fingerprint(manifest.authority) in sheet
        keys = sorted((out / "trustees").glob(f"poll-{poll_id}-trustee-*.key.json"))
        assert len(keys) == 3
        assert TrusteeKey.load(keys[0], passphrase).public.name  # the passphrase opens the keys
    # A slip of the printed sheet votes.
    manifest = parse_manifest(client.get("/api/polls/2/manifest").get_json())
    code = CODE_RE.findall((out / "slips-poll-2.html").read_text(encoding="utf-8"))[0]
    ctx = manifest.context
    ballot = encrypt_ballot(ctx, Credential.from_code(code), [0] * ctx.subjects)
    assert client.post("/api/polls/2/ballots", json=ballot).status_code == 201
    # Run again: the conference is kept as it is.
    again = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--out", str(out)])
    assert again.exit_code == 0 and "left unchanged" in again.output
    assert re.search(r"poll 2 \(open\)", again.output)


def test_demo_keeps_the_2023_sample(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = app.test_cli_runner().invoke(
        args=["demo", "--no-serve", "--out", str(out), "--sample", "2023"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        polls = db.get_session().query(Poll).order_by(Poll.id).all()
        assert [(p.state, p.rules_id) for p in polls] == [("open", "qd124-2023")] * 3
