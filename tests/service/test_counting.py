"""Counting a closed poll through the CLI, on SQLite and PostgreSQL: shares, record, bundle."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from ballot import db
from ballot.keys import SIGNING_KEY_FILE
from ballot.models import AuditEvent, CountShare, Poll, PollCount
from tally import cli as tally_cli
from tally.ballots import encrypt_ballot
from tally.bundle import bundle_bytes, read_bundle
from tally.canonical import canonical_json, parse_json
from tally.record import ServiceKey, verify_record_signature
from tally.rules import decide
from tally.verify import verify_bundle

from .conftest import OpenPoll, run


def fail(app: Flask, *args: str) -> str:
    """Run a ``ballot`` command that must be refused; return its (bilingual) message."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 1, result.output
    assert "/" in result.output  # Vietnamese / English
    return result.output


def stored(app: Flask) -> dict[str, Any]:
    with app.app_context():
        s = db.get_session()
        return {
            "state": s.scalar(select(Poll.state).where(Poll.id == 1)),
            "counts": s.scalar(select(func.count()).select_from(PollCount)),
            "shares": s.scalar(select(func.count()).select_from(CountShare)),
            "bundles": s.scalar(select(func.count()).where(PollCount.bundle.is_not(None))),
            "events": s.scalar(select(func.count()).select_from(AuditEvent)),
        }


def known_choices(subjects: int, grades: int) -> list[list[int | None]]:
    """Four voters' choices (grade index per subject, None = blank)."""
    return [
        [0] * subjects,
        [0 if i % 2 == 0 else 1 for i in range(subjects)],
        [None if i == 2 else (grades - 1 if i == 3 else 1) for i in range(subjects)],
        [2 if i % 3 == 0 else 0 for i in range(subjects)],
    ]


@dataclass
class Counting:
    poll: OpenPoll
    out: Path
    choices: list[list[int | None]]

    @property
    def app(self) -> Flask:
        return self.poll.app

    def aggregate(self) -> dict[str, Any]:
        return parse_json((self.out / "aggregate.json").read_bytes())  # type: ignore[no-any-return]

    def share_file(self, k: int, share: dict[str, Any] | None = None) -> Path:
        path = self.out / f"share-{k}.json"
        data = share if share is not None else self.poll.trustees[k].decrypt_share(self.aggregate())
        path.write_text(json.dumps(data), encoding="utf-8")
        return path


def cast_and_close(poll: OpenPoll) -> list[list[int | None]]:
    ctx = poll.manifest.context
    choices = known_choices(ctx.subjects, ctx.grades)
    for k, row in enumerate(choices):
        response = poll.post(encrypt_ballot(ctx, poll.credential(k), row))
        assert response.status_code == 201, response.get_json()
    run(poll.app, "poll", "close", str(poll.poll_id))
    return choices


@pytest.fixture
def counting(poll: OpenPoll, tmp_path: Path) -> Counting:
    """Poll 1 with four known ballots (one of five credentials unused), closed, count started."""
    choices = cast_and_close(poll)
    out = tmp_path / "for-trustees"
    poll.attest()
    output = run(poll.app, "count", "start", "1", "--out-dir", str(out))
    assert "4" in output
    return Counting(poll, out, choices)


def expected_counts(
    choices: list[list[int | None]], subjects: int, grades: int
) -> tuple[list[list[int]], list[int]]:
    counts = [[0] * grades for _ in range(subjects)]
    blanks = [0] * subjects
    for row in choices:
        for i, choice in enumerate(row):
            if choice is None:
                blanks[i] += 1
            else:
                counts[i][choice] += 1
    return counts, blanks


def test_count_end_to_end(
    counting: Counting, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, manifest = counting.app, counting.poll.manifest
    assert {p.name for p in counting.out.iterdir()} == {
        "manifest.json",
        "ballots.jsonl",
        "aggregate.json",
    }
    with app.app_context():
        head = db.get_session().scalar(select(Poll.board_head).where(Poll.id == 1))
    assert counting.aggregate()["board_head"] == head

    # Trustee 1 with the real tool on their laptop: key file, passphrase, board re-checked.
    key_file = tmp_path / "t1.key"
    counting.poll.trustees[0].save(key_file, "mật khẩu đủ dài 123")
    monkeypatch.setenv("TALLY_PASSPHRASE", "mật khẩu đủ dài 123")
    share0 = counting.out / "share-0.json"
    code = tally_cli.main(
        [
            "trustee",
            "decrypt",
            "--key",
            str(key_file),
            "--aggregate",
            str(counting.out / "aggregate.json"),
            "--manifest",
            str(counting.out / "manifest.json"),
            "--ballots",
            str(counting.out / "ballots.jsonl"),
            "--expected-head",
            str(head),
            "--out",
            str(share0),
        ]
    )
    assert code == 0
    # Trustee 2 from their key in memory (as the browser would).
    share1 = counting.share_file(1)

    # Before every share is in, finishing is refused.
    run(app, "count", "share", "1", str(share0))
    before = stored(app)
    assert "missing" in fail(app, "count", "finish", "1")
    assert stored(app) == before
    run(app, "count", "share", "1", str(share1))

    output = run(app, "count", "finish", "1")
    after = stored(app)
    assert after["bundles"] == 1 and after["shares"] == 2

    bundle = tmp_path / "bundle.zip"
    run(app, "export", "1", "--out", str(bundle))
    files = read_bundle(bundle)
    record = parse_json(files["record.json"])
    result = parse_json(files["result.json"])
    subjects, grades = manifest.context.subjects, manifest.context.grades
    counts, blanks = expected_counts(counting.choices, subjects, grades)
    assert [s["counts"] for s in record["subjects"]] == counts
    assert [s["blank"] for s in record["subjects"]] == blanks
    assert record["ballots_cast"] == 4
    assert record["credentials"]["voided"] == 1
    for row, blank, subject in zip(counts, blanks, result["subjects"], strict=True):
        decision = decide(
            manifest.rules,
            row,
            blank=blank,
            cast=4,
            present=record["attendance_statement"]["present"],
            members=manifest.members,
        )
        assert subject["grade"] == decision.grade
        assert (subject["grade"] or "Chưa xác định / undetermined") in output

    # The record is signed by the service key named in the manifest.
    key = ServiceKey.load_or_create(Path(app.config["KEYS_DIR"]) / SIGNING_KEY_FILE)
    assert manifest.signer_public_key == key.public_key
    assert verify_record_signature(
        key.public_key, files["record.json"], files["record.sig"].decode()
    )
    report = verify_bundle(bundle, signer_key=key.public_key, workers=1)
    assert report.ok, [c for c in report.checks if not c.ok]

    # The same bundle over HTTP.
    response = counting.poll.client.get("/api/polls/1/bundle")
    assert response.status_code == 200
    assert response.data == bundle.read_bytes()

    # A tampered copy (one count in tally.json changed) fails verification.
    tally_doc = parse_json(files["tally.json"])
    tally_doc["counts"][0][0] += 1
    tampered = dict(files, **{"tally.json": canonical_json(tally_doc)})
    bad = verify_bundle(bundle_bytes(tampered), signer_key=key.public_key, workers=1)
    assert not bad.ok

    # Counting is over: no more shares, no second finish.
    assert "finished" in fail(app, "count", "share", "1", str(share1))
    assert "finished" in fail(app, "count", "finish", "1")
    assert stored(app) == after


def test_counting_an_open_poll_is_refused_and_changes_nothing(
    poll: OpenPoll, tmp_path: Path
) -> None:
    response = poll.client.get("/api/polls/1/bundle")
    assert response.status_code == 409
    before = stored(poll.app)
    out = tmp_path / "out"
    assert "still open" in fail(poll.app, "count", "start", "1", "--out-dir", str(out))
    assert "still open" in fail(poll.app, "count", "finish", "1")
    share = tmp_path / "share.json"
    share.write_text(json.dumps({"format": "tally-share/1"}), encoding="utf-8")
    assert "not started" in fail(poll.app, "count", "share", "1", str(share))
    assert "not been counted" in fail(poll.app, "export", "1", "--out", str(tmp_path / "b.zip"))
    assert stored(poll.app) == before
    assert not out.exists()
    assert not (tmp_path / "b.zip").exists()


def test_wrong_shares_are_refused_and_nothing_is_stored(counting: Counting) -> None:
    app = counting.app
    assert "already started" in fail(
        app, "count", "start", "1", "--out-dir", str(counting.out / "again")
    )
    before = stored(app)
    good = counting.poll.trustees[0].decrypt_share(counting.aggregate())

    altered = copy.deepcopy(good)
    altered["shares"][0][0]["d"] = good["shares"][0][1]["d"]
    assert "proof does not verify" in fail(
        app, "count", "share", "1", str(counting.share_file(0, altered))
    )

    other = counting.aggregate()
    other["ciphertexts"][0][0], other["ciphertexts"][0][1] = (
        other["ciphertexts"][0][1],
        other["ciphertexts"][0][0],
    )
    for_other = counting.poll.trustees[0].decrypt_share(other)
    assert "different aggregate" in fail(
        app, "count", "share", "1", str(counting.share_file(0, for_other))
    )

    stranger = copy.deepcopy(good)
    stranger["public_key"] = "00" * 32
    assert "not from a trustee" in fail(
        app, "count", "share", "1", str(counting.share_file(0, stranger))
    )

    garbage = counting.out / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    assert "not JSON" in fail(app, "count", "share", "1", str(garbage))
    assert stored(app) == before

    run(app, "count", "share", "1", str(counting.share_file(0, good)))
    after = stored(app)
    assert after["shares"] == 1
    assert "was not taken again" in fail(
        app, "count", "share", "1", str(counting.share_file(0, good))
    )
    assert stored(app) == after


def test_count_start_writes_the_trustees_files_to_a_default_folder(
    poll: OpenPoll, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ballot count start POLL` as the issue writes it: the files go to out/poll-<POLL>-count."""
    cast_and_close(poll)
    monkeypatch.chdir(tmp_path)
    poll.attest()
    output = run(poll.app, "count", "start", "1")
    folder = tmp_path / "out" / "poll-1-count"
    assert str(Path("out") / "poll-1-count") in output
    assert {p.name for p in folder.iterdir()} >= {
        "manifest.json",
        "ballots.jsonl",
        "aggregate.json",
    }
