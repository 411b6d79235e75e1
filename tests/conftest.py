"""Shared fixtures: a joint poll key, a small demo bundle, and a poll whose secrets we keep.

Session-scoped values are never mutated by tests: a test that tampers copies ``files`` first
(the ``demo_files`` fixture hands out a fresh dict each time).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tally.ballots import encrypt_ballot, tracking_hash, verify_ballot
from tally.bundle import hashed_members
from tally.canonical import canonical_json, sha256_hex
from tally.counting import aggregate_for, board_file, finish
from tally.credentials import Credential
from tally.demo import (
    DemoPoll,
    demo_attendance,
    demo_audit_log,
    demo_credentials,
    demo_subjects,
    run_demo,
)
from tally.group import Point, base_mul, random_scalar
from tally.manifest import Manifest, make_manifest, make_manifest_v1, parse_manifest
from tally.paper import paper_jsonl
from tally.record import ServiceKey
from tally.results import SubjectInfo
from tally.rules import RuleSet, load_ruleset
from tally.trustees import TrusteeKey
from tally.verify import verify_ballots


@dataclass(frozen=True)
class JointKey:
    """A poll key whose secret the test knows, so it can decrypt what it encrypts."""

    secret: int
    public: Point


@pytest.fixture(scope="session")
def joint_key() -> JointKey:
    x = random_scalar()
    return JointKey(x, base_mul(x))


# --- the demo bundle (tally.demo.run_demo) -------------------------------------------------------


@pytest.fixture(scope="session")
def demo_signer() -> ServiceKey:
    return ServiceKey.generate()


@pytest.fixture(scope="session")
def demo(demo_signer: ServiceKey) -> DemoPoll:
    return run_demo(subjects=4, voters=8, trustees=3, seed=7, signer=demo_signer, threshold=0)


@pytest.fixture
def demo_files(demo: DemoPoll) -> dict[str, bytes]:
    """A fresh copy of the demo bundle's members, for one test to tamper with."""
    return dict(demo.files)


def reseal(files: dict[str, bytes], signer: ServiceKey, **record_changes: Any) -> None:
    """Recompute the record's file hashes (and apply ``record_changes``), then re-sign it.

    This is what a dishonest operator holding the signing key can do; it lets a test show that
    the check under test catches the lie by itself.
    """
    record = json.loads(files["record.json"])
    record.update(record_changes)
    record["files"] = {name: sha256_hex(files[name]) for name in hashed_members(files)}
    files["record.json"] = canonical_json(record)
    files["record.sig"] = (signer.sign(files["record.json"]).hex() + "\n").encode("ascii")


@pytest.fixture(scope="session")
def resealer() -> Callable[..., None]:
    return reseal


# --- a poll whose credentials and trustee keys the tests keep ------------------------------------


@dataclass
class PollKit:
    """Everything a dishonest server would need to forge a consistent-looking bundle."""

    manifest_data: dict[str, Any]
    manifest: Manifest
    credentials: list[Credential]
    trustees: list[TrusteeKey]
    signer: ServiceKey
    choices: list[list[int | None]]
    ballots: list[dict[str, Any]]

    def bundle_files(
        self,
        ballots: Sequence[dict[str, Any]] | None = None,
        *,
        voids: Sequence[dict[str, Any]] | None = None,
        paper: Sequence[dict[str, Any]] = (),
    ) -> dict[str, bytes]:
        """Run the real counting path (board, aggregate, shares, result, signed record);
        ``voids`` and ``paper``: the paper fallback's statements (13.3)."""
        ballots = list(self.ballots if ballots is None else ballots)
        checked = verify_ballots(self.manifest.context, ballots, workers=1)
        accepted = [vb for vb, _ in checked if vb is not None]
        assert len(accepted) == len(ballots), [err for _, err in checked if err]
        jsonl, head = board_file(
            self.manifest.fingerprint, ((b, tracking_hash(b)) for b in ballots)
        )
        papers = [verify_ballot(self.manifest.context, p["ballot"]) for p in paper]
        aggregate = aggregate_for(self.manifest, head, [*accepted, *papers])
        shares = [k.decrypt_share(aggregate) for k in self.trustees]
        attendance_lines, statement = demo_attendance(
            self.manifest,
            self.trustees[0],
            board_head=head,
            ballots=len(ballots),
            present=6,
            paper_ballots=len(paper),
        )
        extra: dict[str, Any] = {}
        if voids is not None:
            extra = {"voids_jsonl": paper_jsonl(voids), "paper_jsonl": paper_jsonl(paper)}
        return finish(
            self.manifest_data,
            jsonl,
            aggregate,
            shares,
            signer=self.signer,
            voided=0,
            created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC).isoformat(),
            audit_jsonl=demo_audit_log(self.manifest_data, len(ballots)),
            attendance_jsonl=attendance_lines,
            attendance=statement,
            **extra,
        )


@pytest.fixture(scope="session")
def kit() -> PollKit:
    rules = load_ruleset("qd124-2023")
    signer = ServiceKey.generate()
    trustees = [TrusteeKey.generate(f"Thành viên {k + 1}") for k in range(2)]
    uid, credential_list, credentials = demo_credentials(6)
    manifest_data = make_manifest(
        poll_id="kit",
        poll_uid=uid,
        title="Kiểm thử",
        conference={"title": "Hội nghị kiểm thử", "body": "BTV", "date": "2025-01-02"},
        subjects=demo_subjects(3),
        rules=rules,
        trustees=[k.public for k in trustees],
        credential_list=credential_list,
        members=7,
        signer_public_key=signer.public_key,
    )
    manifest = parse_manifest(manifest_data)
    # Five of six credentials vote; the sixth stays unused (a realistic turnout).
    choices: list[list[int | None]] = [
        [0, 1, 1],
        [1, 1, 0],
        [1, None, 2],
        [0, 1, 3],
        [1, 0, 1],
    ]
    ballots = [
        encrypt_ballot(manifest.context, cred, row)
        for cred, row in zip(credentials, choices, strict=False)
    ]
    return PollKit(manifest_data, manifest, credentials, trustees, signer, choices, ballots)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``make test-fast`` leaves out the browser tests: everything under tests/browser/ and any
    test that asks for the ``browser`` fixture is marked ``browser``."""
    for item in items:
        if "browser" in item.path.parts or "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


# --- any poll, through the real counting path ---------------------------------------------------


def build_bundle(
    *,
    rules: RuleSet,
    subjects: Sequence[SubjectInfo],
    choices: Sequence[Sequence[int | None]],
    members: int,
    present: int,
    signer: ServiceKey,
    protocol: int = 2,
    external_grades: Mapping[str, str] | None = None,
    poll_id: str = "7",
) -> dict[str, bytes]:
    """A complete bundle for these subjects and choices (one ballot per row), made as the
    service makes it: keys, slips, ballots verified and chained, shares with proofs, finish."""
    trustees = [TrusteeKey.generate(f"Thành viên {k + 1}") for k in range(2)]
    common: dict[str, Any] = {
        "poll_id": poll_id,
        "title": "Phiếu biểu quyết kiểm thử",
        "conference": {"title": "Hội nghị kiểm thử", "body": "Ban Thường vụ", "date": "2025-12-01"},
        "subjects": subjects,
        "rules": rules,
        "signer_public_key": signer.public_key,
        "members": members,
    }
    if protocol == 1:
        # Version 1 fixed the number present in the manifest, with a bare list of keys.
        credentials = [Credential.generate() for _ in choices]
        manifest_data = make_manifest_v1(
            **common,
            trustees=[k.public_v1() for k in trustees],
            credential_keys=[c.public_key for c in credentials],
            present=present,
        )
    else:
        uid, credential_list, credentials = demo_credentials(max(1, len(choices)))
        credentials = credentials[: len(choices)]
        manifest_data = make_manifest(
            **common,
            poll_uid=uid,
            trustees=[k.public for k in trustees],
            credential_list=credential_list,
        )
    manifest = parse_manifest(manifest_data)
    ballots = [
        encrypt_ballot(manifest.context, c, row)
        for c, row in zip(credentials, choices, strict=True)
    ]
    accepted = [vb for vb, _ in verify_ballots(manifest.context, ballots, workers=1)]
    assert all(vb is not None for vb in accepted)
    jsonl, head = board_file(manifest.fingerprint, ((b, tracking_hash(b)) for b in ballots))
    aggregate = aggregate_for(manifest, head, [vb for vb in accepted if vb is not None])
    attendance: dict[str, Any] = {}
    if protocol != 1:
        attendance_lines, statement = demo_attendance(
            manifest, trustees[0], board_head=head, ballots=len(ballots), present=present
        )
        attendance = {"attendance_jsonl": attendance_lines, "attendance": statement}
    return finish(
        manifest_data,
        jsonl,
        aggregate,
        [k.decrypt_share(aggregate) for k in trustees],
        **attendance,
        signer=signer,
        voided=0,
        created_at="2025-12-01T10:00:00+00:00",
        audit_jsonl=demo_audit_log(manifest_data, len(ballots)),
        external_grades=external_grades,
        protocol=protocol,
    )


# --- one headless Chromium for the whole session (the booth, the trustee page) -------------------

CHROMIUM = os.environ.get("BALLOT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUILD = Path(__file__).resolve().parent.parent / "ballot" / "static" / "build"


def need(condition: bool, reason: str) -> None:
    """Fail under CI (nothing a test needs may be missing there), else skip with the reason."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright; never a downloaded browser. Playwright's sync API
    allows one instance per thread, so every browser test shares this one."""
    need(shutil.which(CHROMIUM) is not None, f"{CHROMIUM} not installed (apt-get install chromium)")
    need((BUILD / "booth-worker.js").is_file(), f"{BUILD} not built (run make, which runs npm)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
