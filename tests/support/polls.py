"""Poll builders for the tests and bench/: an app on a fresh database, a ``ballot`` command run
in it, and a poll of the sample conference with trustees, slips and the poll open."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ballot import create_app
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

    def board(self, poll_id: int | None = None) -> dict[str, Any]:
        response = self.client.get(f"/api/polls/{poll_id or self.poll_id}/board")
        assert response.status_code == 200, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]


def prepare_poll(app: Flask, tmp_path: Path, poll_id: int, count: int) -> OpenPoll:
    """Trustees' keys made here, credentials minted and the poll opened, all via the CLI."""
    trustees = [TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {k}") for k in (1, 2)]
    for k, key in enumerate(trustees):
        pub = tmp_path / f"trustee-{poll_id}-{k}.pub.json"
        pub.write_text(json.dumps(key.public.to_json(), ensure_ascii=False), encoding="utf-8")
        run(app, "trustee", "add", str(poll_id), str(pub))
    slips = tmp_path / f"slips-{poll_id}.html"
    run(app, "credentials", "mint", str(poll_id), "--count", str(count), "--slips", str(slips))
    codes = CODE_RE.findall(slips.read_text(encoding="utf-8"))
    assert len(codes) == count
    run(app, "poll", "open", str(poll_id))
    client = app.test_client()
    response = client.get(f"/api/polls/{poll_id}/manifest")
    assert response.status_code == 200
    manifest = parse_manifest(json.loads(response.data))
    return OpenPoll(app, client, poll_id, codes, slips, manifest, trustees)
