"""Poll builders for the tests and bench/: an app on a fresh database, a ``ballot`` command run
in it, and a poll of the sample conference with trustees, the Board's credential list and the
poll open; and the trustee's signed attendance once it is closed."""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ballot import create_app, db
from ballot.models import Poll
from tally.attendance import check_attendance, sign_statement
from tally.authority import AuthorityKey, mint
from tally.board import genesis
from tally.credentials import Credential
from tally.manifest import Manifest, parse_manifest
from tally.trustees import TrusteeKey

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "hoi-nghi-2023.toml"
CODE_RE = re.compile(r'<div class="code">([A-Z2-7-]+)</div>')


def make_app(tmp: Path, database_url: str, **config: Any) -> Flask:
    """The service on ``database_url`` with its instance and keys under ``tmp``."""
    return create_app(
        {
            "INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": database_url,
            "KEYS_DIR": str(tmp / "keys"),
            "TESTING": True,
            **config,
        }
    )


def run(app: Flask, *args: str) -> str:
    """Run a ``ballot`` command; assert it succeeded; return its output."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def conference_toml(subjects: int, electorate: int) -> str:
    """A conference of ``electorate`` members with one poll of ``subjects`` individual subjects
    under ``qd124-2023`` (bench/ and the tests of large boards)."""
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


@dataclass
class OpenPoll:
    app: Flask
    client: FlaskClient
    poll_id: int
    codes: list[str]
    slips: Path
    manifest: Manifest
    trustees: list[TrusteeKey]

    def credential(self, k: int) -> Credential:
        return Credential.from_code(self.codes[k])

    def post(self, body: Any, poll_id: int | None = None) -> Any:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.post(
            f"/api/polls/{poll_id or self.poll_id}/ballots",
            data=data,
            content_type="application/json",
        )

    def attest(self, poll_id: int | None = None) -> dict[str, Any]:
        """The first trustee signs the closed poll's attendance (before ``count start``)."""
        return attest(self.app, poll_id or self.poll_id, self.trustees[0])

    def board(self, poll_id: int | None = None) -> dict[str, Any]:
        response = self.client.get(f"/api/polls/{poll_id or self.poll_id}/board")
        assert response.status_code == 200, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]


def poll_uid(app: Flask, poll_id: int) -> str:
    with app.app_context():
        return db.get_session().get_one(Poll, poll_id).uid


def board_mint(
    app: Flask,
    tmp_path: Path,
    poll_id: int,
    count: int,
    reserve: int = 0,
    authority: AuthorityKey | None = None,
) -> tuple[list[str], Path]:
    """The Organization Board's part, as ``tally credentials mint`` does it (without the key
    file's passphrase cost): a signed list for the poll's uid, imported with ``ballot
    credentials import``. Returns the slips' codes (the reserve last) and the list's path."""
    document, slips, spare = mint(
        authority or AuthorityKey.generate(), poll_uid(app, poll_id), count, reserve
    )
    path = tmp_path / f"credentials-{poll_id}.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    run(app, "credentials", "import", str(poll_id), str(path))
    return [c.code for c in slips + spare], path


def add_trustees(app: Flask, tmp_path: Path, poll_id: int) -> list[TrusteeKey]:
    trustees = [TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {k}") for k in (1, 2)]
    for k, key in enumerate(trustees):
        pub = tmp_path / f"trustee-{poll_id}-{k}.pub.json"
        pub.write_text(json.dumps(key.public.to_json(), ensure_ascii=False), encoding="utf-8")
        run(app, "trustee", "add", str(poll_id), str(pub))
    return trustees


def prepare_poll(app: Flask, tmp_path: Path, poll_id: int, count: int) -> OpenPoll:
    """Trustees' keys made here, the Board's credential list imported and the poll opened, all
    via the CLI. The number present is raised to ``count`` if the poll had fewer, so that
    every slip can vote."""
    trustees = add_trustees(app, tmp_path, poll_id)
    codes, slips = board_mint(app, tmp_path, poll_id, count)
    with app.app_context():
        poll = db.get_session().get_one(Poll, poll_id)
        if poll.present < count:
            run(app, "poll", "edit", str(poll_id), "--present", str(count))
    run(app, "poll", "open", str(poll_id), "--acknowledge-unconfirmed-rules")
    client = app.test_client()
    response = client.get(f"/api/polls/{poll_id}/manifest")
    assert response.status_code == 200
    manifest = parse_manifest(json.loads(response.data))
    return OpenPoll(app, client, poll_id, codes, slips, manifest, trustees)


def attest(
    app: Flask, poll_id: int, trustee: TrusteeKey, tmp_path: Path | None = None
) -> dict[str, Any]:
    """A trustee's signed attendance statement of the closed poll, made from the public files
    as ``tally trustee attest`` does, and handed in with ``ballot count attest``."""
    client = app.test_client()
    manifest = parse_manifest(json.loads(client.get(f"/api/polls/{poll_id}/manifest").data))
    ballots = client.get(f"/api/polls/{poll_id}/ballots").data
    chain = check_attendance(
        client.get(f"/api/polls/{poll_id}/attendance").data, manifest.fingerprint, manifest.members
    )
    lines = ballots.splitlines()
    head = json.loads(lines[-1])["chain"] if lines else genesis(manifest.fingerprint).hex()
    assert manifest.poll_uid is not None
    statement = sign_statement(
        trustee,
        fingerprint=manifest.fingerprint,
        poll_uid=manifest.poll_uid,
        attendance=chain,
        board_head=head,
        electronic_ballots=len(lines),
        paper_ballots=client.get(f"/api/polls/{poll_id}/paper").data.count(b"\n"),
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = (tmp_path or Path(scratch)) / f"attendance-{poll_id}.json"
        path.write_text(json.dumps(statement), encoding="utf-8")
        run(app, "count", "attest", str(poll_id), str(path))
    return statement
