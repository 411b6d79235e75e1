"""The browser's cryptography (js/tally/) against tally: what JavaScript makes, Python accepts.

1. The committed JavaScript vectors (tests/vectors/js/, made by tests/vectors/js_generate.mjs)
   verify with tally's own verifier, and a changed byte fails. These need no node.
2. Live, with node and node_modules (``make test`` installs them; without them these tests fail
   under CI and skip elsewhere, as the Chromium tests do): node encrypts fresh ballots for
   manifests made here, node verifies tally's ballots, node decrypts a share with a key file
   written here, and ``node --test js/test/`` runs the JavaScript unit tests (the Python vectors
   checked by JavaScript).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import need
from nacl import bindings as sodium

from tally.authority import AuthorityKey, mint, new_poll_uid, sign_list
from tally.ballots import (
    BallotError,
    check_challenge,
    encrypt_ballot_with_randomness,
    randomness_to_json,
    signed_bytes,
    tracking_code,
    tracking_hash,
    verify_ballot,
)
from tally.canonical import canonical_json, sha256_hex
from tally.counting import board_aggregate, board_file
from tally.credentials import Credential, verify_signature
from tally.demo import demo_subjects
from tally.group import L, base_mul, random_scalar, scalar_from_hex
from tally.manifest import Manifest, make_manifest, make_manifest_v1, parse_manifest
from tally.record import ServiceKey
from tally.results import SubjectInfo
from tally.rules import RuleSet, load_ruleset
from tally.trustees import TrusteeError, TrusteeKey, TrusteePublic, combine, verify_share

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def flip(hex_text: str, position: int = 0) -> str:
    digit = hex_text[position]
    return hex_text[:position] + ("1" if digit == "0" else "0") + hex_text[position + 1 :]


def hex_leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from hex_leaves(v, (*path, k))
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from hex_leaves(v, (*path, k))
    elif isinstance(value, str) and value and all(c in "0123456789abcdef" for c in value):
        yield path


def changed(ballot: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out = copy.deepcopy(ballot)
    target: Any = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = flip(target[path[-1]])
    return out


JS_BALLOTS = load("js/js_ballot.json")
JS_SHARE = load("js/js_share.json")
BALLOT = load("ballot.json")
CASES = JS_BALLOTS["cases"]


@cache
def manifest_of(name: str) -> Manifest:
    return parse_manifest(JS_BALLOTS["manifests"][name])


# --- 1. the committed JavaScript vectors, checked by tally ---------------------------------------


def test_js_vector_manifests() -> None:
    # 'blank-allowed' is ballot.json's poll unchanged; 'no-blank' is a valid manifest of its own,
    # its credential list signed for its own uid by JavaScript (with the vector's authority seed).
    assert JS_BALLOTS["manifests"]["blank-allowed"] == BALLOT["manifest"]
    blank = manifest_of("blank-allowed")
    strict = manifest_of("no-blank")
    assert (blank.version, strict.version) == (2, 2)
    assert strict.context.allow_blank is False
    assert strict.fingerprint != blank.fingerprint
    assert strict.poll_uid != blank.poll_uid
    assert strict.authority == blank.authority and strict.credentials == blank.credentials
    assert set(JS_BALLOTS["manifests"]) == {c["manifest"] for c in CASES}
    assert set(JS_BALLOTS["manifests"]) == {"blank-allowed", "no-blank", "v1-blank-allowed"}


def test_js_version_1_manifest_is_what_tally_writes() -> None:
    # JavaScript's version-1 form of ballot.json's poll is make_manifest_v1's, to the byte.
    v1 = JS_BALLOTS["manifests"]["v1-blank-allowed"]
    assert manifest_of("v1-blank-allowed").version == 1
    source = parse_manifest(BALLOT["manifest"])
    election = BALLOT["manifest"]["election"]
    expected = make_manifest_v1(
        poll_id="vector-2025-js-v1",
        title=election["title"],
        conference=BALLOT["manifest"]["conference"],
        subjects=[SubjectInfo.from_dict(s) for s in election["subjects"]],
        rules=RuleSet.from_json(election["rules"]),
        # Version 1's proofs have no context: JavaScript proved each key afresh (9.1).
        trustees=[TrusteePublic.from_json(t) for t in v1["election"]["trustees"]],
        credential_keys=sorted(source.credentials),
        members=source.members,
        present=2,
        signer_public_key=source.signer_public_key,
    )
    assert canonical_json(v1) == canonical_json(expected)
    assert [(t.name, t.public_key) for t in parse_manifest(v1).trustees] == [
        (t.name, t.public_key) for t in source.trustees
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["label"])
def test_js_ballot_verifies_with_tally(case: dict[str, Any]) -> None:
    manifest = manifest_of(case["manifest"])
    ballot = case["ballot"]
    verified = verify_ballot(manifest.context, ballot)
    assert manifest.fingerprint.hex() == case["fingerprint"] == ballot["poll"]
    assert verified.credential in manifest.credentials
    assert verified.tracking_hash.hex() == case["tracking_hash"]
    assert tracking_hash(ballot).hex() == case["tracking_hash"]
    assert tracking_code(verified.tracking_hash) == case["tracking_code"]
    assert hashlib.sha256(signed_bytes(ballot)).hexdigest() == case["signed_bytes_sha256"]
    credential = Credential.from_code(case["credential_code"])
    assert credential.public_key.hex() == ballot["credential"]
    assert (
        credential.public_key == Credential(bytes.fromhex(case["credential_secret_hex"])).public_key
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["label"])
def test_js_ballot_challenge_with_tally(case: dict[str, Any]) -> None:
    ctx = manifest_of(case["manifest"]).context
    randomness = [[scalar_from_hex(r) for r in rs] for rs in case["randomness"]]
    choices = case["choices"]
    assert check_challenge(ctx, case["ballot"], choices, randomness)
    for i, choice in enumerate(choices):
        other = list(choices)
        other[i] = 1 if choice in (None, 0) else 0
        assert not check_challenge(ctx, case["ballot"], other, randomness)


@pytest.mark.parametrize(
    ("case", "path"),
    [(c, p) for c in CASES for p in hex_leaves(c["ballot"])],
    ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple) else v["label"],
)
def test_js_ballot_changed_byte_fails(case: dict[str, Any], path: tuple[Any, ...]) -> None:
    ctx = manifest_of(case["manifest"]).context
    with pytest.raises(BallotError):
        verify_ballot(ctx, changed(case["ballot"], path))


def test_js_board_and_aggregate_match_tally() -> None:
    manifest = manifest_of("blank-allowed")
    lines = JS_SHARE["ballots_jsonl"].encode("utf-8").splitlines()
    ballots = [json.loads(line)["ballot"] for line in lines]
    assert ballots[0] == BALLOT["ballot"]
    assert ballots[1] == next(c["ballot"] for c in CASES if c["label"] == "A")
    jsonl, head = board_file(manifest.fingerprint, ((b, tracking_hash(b)) for b in ballots))
    assert jsonl == JS_SHARE["ballots_jsonl"].encode("utf-8")
    assert head == JS_SHARE["board_head"]
    verified = [verify_ballot(manifest.context, b) for b in ballots]
    aggregate = board_aggregate(manifest, verified)
    assert canonical_json(aggregate) == canonical_json(JS_SHARE["aggregate"])
    assert sha256_hex(canonical_json(aggregate)) == JS_SHARE["aggregate_sha256"]


def test_js_shares_verify_and_combine_with_tally() -> None:
    manifest = manifest_of("blank-allowed")
    aggregate = JS_SHARE["aggregate"]
    partials = [
        verify_share(aggregate, trustee, share)
        for trustee, share in zip(manifest.trustees, JS_SHARE["shares"], strict=True)
    ]
    counts = combine(aggregate, partials, aggregate["ballot_count"])
    assert counts == JS_SHARE["counts"]
    assert [aggregate["ballot_count"] - sum(row) for row in counts] == JS_SHARE["blanks"]
    # The same shares as tally's own, up to the proofs' random nonces.
    python = [
        TrusteeKey(scalar_from_hex(x), t).decrypt_share(aggregate)
        for x, t in zip(BALLOT["trustee_secrets_hex"], manifest.trustees, strict=True)
    ]
    for js, py in zip(JS_SHARE["shares"], python, strict=True):
        assert {k: v for k, v in js.items() if k != "shares"} == {
            k: v for k, v in py.items() if k != "shares"
        }
        assert [[d["d"] for d in row] for row in js["shares"]] == [
            [d["d"] for d in row] for row in py["shares"]
        ]


@pytest.mark.parametrize(
    "path", list(hex_leaves(JS_SHARE["shares"][0])), ids=lambda p: ".".join(map(str, p))
)
def test_js_share_changed_byte_fails(path: tuple[Any, ...]) -> None:
    # Every hex field: poll, public_key, aggregate_sha256, each d and each proof scalar.
    manifest = manifest_of("blank-allowed")
    with pytest.raises(TrusteeError):
        verify_share(
            JS_SHARE["aggregate"], manifest.trustees[0], changed(JS_SHARE["shares"][0], path)
        )


# --- 2. live: node and tally side by side --------------------------------------------------------

NODE = shutil.which("node")
HAVE_MODULES = (ROOT / "node_modules" / "@noble" / "curves").is_dir()


@pytest.fixture(scope="module")
def node_and_modules() -> None:
    """node and node_modules: missing, they fail the tests under CI and skip them elsewhere."""
    need(NODE is not None, "node not installed (apt-get install nodejs)")
    need(
        HAVE_MODULES,
        "node_modules missing: run `make node_modules/.installed` (npm ci); `make test` does",
    )


needs_node = pytest.mark.usefixtures("node_and_modules")


def node(request: dict[str, Any], *, ok: bool = True) -> Any:
    """Run js/cli.mjs with one JSON request on stdin; return its JSON answer."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(ROOT / "js" / "cli.mjs")],
        input=json.dumps(request, ensure_ascii=False),
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    answer = json.loads(done.stdout) if done.stdout.strip() else {"stderr": done.stderr}
    assert (done.returncode == 0) == ok, answer
    return answer


@dataclasses.dataclass(frozen=True)
class LivePoll:
    data: dict[str, Any]
    manifest: Manifest
    credentials: list[Credential]
    trustees: list[TrusteeKey]
    secrets: list[int]  # the trustees' secrets (to write a version-1 key file of the same key)
    authority: AuthorityKey | None  # the Board's key that signed the list (version 2)


def live_poll(subjects: int, allow_blank: bool, version: int = 2) -> LivePoll:
    """A fresh poll: version 2 with an authority's signed list of 3 slips (as
    tally.demo.demo_credentials makes one), or version 1 with the bare list (make_manifest_v1)."""
    rules = dataclasses.replace(load_ruleset("qd124-2023"), allow_blank=allow_blank)
    secrets = [random_scalar() for _ in range(3)]
    trustees = [
        TrusteeKey.from_secret(f"Thành viên Ban kiểm phiếu {k + 1}", x)
        for k, x in enumerate(secrets)
    ]
    common: dict[str, Any] = {
        "poll_id": f"js-live-{subjects}-{'blank' if allow_blank else 'no-blank'}-v{version}",
        "title": "Phiếu biểu quyết thử nghiệm (trình duyệt)",
        "conference": {
            "title": "Hội nghị thử nghiệm",
            "body": "Ban Thường vụ",
            "date": "2025-12-15",
        },
        "subjects": demo_subjects(subjects),
        "rules": rules,
        "members": 5,
        "signer_public_key": ServiceKey.generate().public_key,
    }
    authority = AuthorityKey.generate() if version == 2 else None
    if authority is not None:
        uid = new_poll_uid()
        credential_list, credentials, _ = mint(authority, uid, 3, 0)
        data = make_manifest(
            **common,
            poll_uid=uid,
            trustees=[k.public for k in trustees],
            credential_list=credential_list,
        )
    else:
        credentials = [Credential.generate() for _ in range(3)]
        data = make_manifest_v1(
            **common,
            trustees=[k.public_v1() for k in trustees],
            credential_keys=[c.public_key for c in credentials],
            present=4,
        )
    manifest = parse_manifest(data)
    assert manifest.version == version
    return LivePoll(data, manifest, credentials, trustees, secrets, authority)


@needs_node
def test_node_unit_tests() -> None:
    # The JavaScript tests: every Python vector recomputed by js/tally/, the worker protocol,
    # and tests/vectors/js/ up to date with js_generate.mjs.
    assert NODE is not None
    done = subprocess.run(
        [NODE, "--test", "js/test/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout


@needs_node
@pytest.mark.parametrize("allow_blank", [False, True], ids=["no-blank", "blank-allowed"])
def test_node_ballot_verifies_with_tally(allow_blank: bool) -> None:
    poll = live_poll(15, allow_blank)
    choices: list[int | None] = [i % 4 for i in range(15)]
    if allow_blank:
        choices[3] = choices[9] = None
    cred = poll.credentials[1]
    answer = node(
        {"op": "encrypt", "manifest": poll.data, "code": cred.code.lower(), "choices": choices}
    )
    ballot = answer["ballot"]
    verified = verify_ballot(poll.manifest.context, ballot)
    assert verified.credential == cred.public_key
    assert verified.tracking_hash.hex() == answer["tracking_hash"]
    assert tracking_code(verified.tracking_hash) == answer["tracking_code"]
    randomness = [[scalar_from_hex(r) for r in rs] for rs in answer["randomness"]]
    assert check_challenge(poll.manifest.context, ballot, choices, randomness)
    wrong = [0 if c is None else (c + 1) % 4 for c in choices]
    assert not check_challenge(poll.manifest.context, ballot, wrong, randomness)
    # Decrypted with the trustees' keys, the ballot holds exactly these choices.
    aggregate = board_aggregate(poll.manifest, [verified])
    partials = [
        verify_share(aggregate, k.public, k.decrypt_share(aggregate)) for k in poll.trustees
    ]
    expected = [[1 if c == j else 0 for j in range(4)] for c in choices]
    assert combine(aggregate, partials, 1) == expected


@needs_node
def test_node_refuses_bad_code_and_choices() -> None:
    poll = live_poll(2, False)
    code = poll.credentials[0].code
    bad = node(
        {"op": "encrypt", "manifest": poll.data, "code": code[:-1], "choices": [0, 1]}, ok=False
    )
    assert code[:-1] not in bad["error"]
    node({"op": "encrypt", "manifest": poll.data, "code": code, "choices": [0, None]}, ok=False)
    node({"op": "encrypt", "manifest": poll.data, "code": code, "choices": [0, 4]}, ok=False)


@needs_node
@pytest.mark.parametrize("version", [2, 1], ids=["v2", "v1"])
def test_node_booth_worker_accepts_only_a_listed_slip(version: int) -> None:
    # The booth's worker itself, given the manifest tally writes: a listed slip encrypts, a slip
    # that is not listed is refused before anything is encrypted, and (version 2) a list that the
    # poll's authority did not sign, or signed for another poll, makes the manifest invalid.
    poll = live_poll(2, True, version)
    listed = poll.credentials[2]
    message = {"type": "encrypt", "manifest": poll.data, "code": listed.code, "choices": [0, None]}
    done = node({"op": "booth", "message": message})["replies"][-1]
    assert done["type"] == "done", done
    verified = verify_ballot(poll.manifest.context, done["ballot"])
    assert verified.credential == listed.public_key
    stranger = Credential.generate()
    refused = node({"op": "booth", "message": {**message, "code": stranger.code}})["replies"]
    assert [r["kind"] for r in refused] == ["not-listed"]
    if poll.authority is None:
        return
    document = poll.data["credential_list"]
    keys = [bytes.fromhex(k) for k in document["keys"]]
    uid = poll.data["election"]["poll_uid"]
    impostor = sign_list(AuthorityKey.generate(), uid, 3, 0, keys)  # not the poll's authority
    elsewhere = sign_list(poll.authority, new_poll_uid(), 3, 0, keys)  # for another poll
    forged = {**document, "keys": sorted([*document["keys"][1:], stranger.public_key.hex()])}
    for changed_list in (impostor, elsewhere, forged):
        data = {**poll.data, "credential_list": changed_list}
        bad = {**message, "manifest": data}
        assert [r["kind"] for r in node({"op": "booth", "message": bad})["replies"]] == ["manifest"]


@needs_node
@pytest.mark.parametrize("version", [2, 1], ids=["v2", "v1"])
@pytest.mark.parametrize("allow_blank", [False, True], ids=["no-blank", "blank-allowed"])
def test_tally_ballot_verifies_with_node(allow_blank: bool, version: int) -> None:
    poll = live_poll(4, allow_blank, version)
    choices: list[int | None] = [None if allow_blank else 3, 0, 1, 2]
    ballot, randomness = encrypt_ballot_with_randomness(
        poll.manifest.context, poll.credentials[0], choices
    )
    answer = node({"op": "verify", "manifest": poll.data, "ballot": ballot})
    assert answer == {"ok": True, "tracking_hash": tracking_hash(ballot).hex()}
    revealed = randomness_to_json(randomness)
    request = {"manifest": poll.data, "ballot": ballot, "randomness": revealed}
    assert node({"op": "challenge", "choices": choices, **request}) == {"ok": True}
    assert node({"op": "challenge", "choices": [1, 0, 1, 2], **request}) == {"ok": False}
    # A changed byte anywhere: node refuses it as tally does.
    for path in [("signature",), ("answers", 2, "choices", 1, "b"), ("answers", 3, "sum_proof")]:
        target: Any = ballot
        for key in path:
            target = target[key]
        if isinstance(target, dict):
            path = (*path, sorted(target)[0])
        tampered = changed(ballot, path)
        with pytest.raises(BallotError):
            verify_ballot(poll.manifest.context, tampered)
        assert node({"op": "verify", "manifest": poll.data, "ballot": tampered})["ok"] is False


@needs_node
@pytest.mark.parametrize(
    ("version", "key_form"),
    [(2, 2), (2, 1), (1, 1), (1, 2)],
    ids=["v2-manifest-v2-key", "v2-manifest-v1-key", "v1-manifest-v1-key", "v1-manifest-v2-key"],
)
def test_node_trustee_share_from_a_tally_key_file(version: int, key_form: int) -> None:
    # A key file's public part is tally-trustee-public/2 (written from version 2) or /1 (written
    # before it): node opens either and decrypts for a manifest of either version.
    poll = live_poll(3, True, version)
    choices: list[list[int | None]] = [[0, 1, None], [0, 3, 2]]
    ballots = [
        encrypt_ballot_with_randomness(poll.manifest.context, cred, row)[0]
        for cred, row in zip(poll.credentials, choices, strict=False)
    ]
    # The aggregate: node recomputes from the board exactly what tally does.
    aggregate = node({"op": "aggregate", "manifest": poll.data, "ballots": ballots})["aggregate"]
    verified = [verify_ballot(poll.manifest.context, b) for b in ballots]
    assert canonical_json(aggregate) == canonical_json(board_aggregate(poll.manifest, verified))
    # Trustee 2 decrypts in node with the key file tally writes (scrypt, AES-256-GCM).
    passphrase = "mật khẩu của thành viên 2"
    trustee = poll.trustees[1]
    if key_form == 1:
        trustee = TrusteeKey(poll.secrets[1], trustee.public_v1())
    key_file = trustee.to_encrypted_json(passphrase)
    assert key_file["public"]["format"] == f"tally-trustee-public/{key_form}"
    request = {"op": "decrypt", "manifest": poll.data, "key_file": key_file}
    share = node({**request, "passphrase": passphrase, "aggregate": aggregate})["share"]
    shares = [poll.trustees[0].decrypt_share(aggregate), share]
    shares.append(poll.trustees[2].decrypt_share(aggregate))
    partials = [
        verify_share(aggregate, k.public, s) for k, s in zip(poll.trustees, shares, strict=True)
    ]
    assert combine(aggregate, partials, 2) == [[2, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]]
    # node checks tally's shares too, and refuses a wrong passphrase.
    for k, s in zip(poll.trustees, shares, strict=True):
        check = {"op": "verify_share", "aggregate": aggregate, "trustee": k.public.to_json()}
        assert node({**check, "share": s}) == {"ok": True}
    wrong = node({**request, "passphrase": passphrase + "!", "aggregate": aggregate}, ok=False)
    assert "passphrase" in wrong["error"] and passphrase not in wrong["error"]


def _edge_signatures() -> list[tuple[bytes, bytes, bytes]]:
    """Ed25519 cases where verifiers are known to differ (10.3), as (public key, signature, msg)."""
    p = 2**255 - 19
    identity = b"\x01" + bytes(31)
    t8 = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
    cred = Credential.generate()
    good = cred.sign(b"message")
    s_plus_l = (int.from_bytes(good[32:], "little") + L).to_bytes(32, "little")
    trivial = identity + bytes(32)
    items = [
        (cred.public_key, good, b"message"),
        (cred.public_key, good[:32] + s_plus_l, b"message"),  # S >= L
        (identity, trivial, b"any"),  # the identity key: anything verifies
        ((p + 1).to_bytes(32, "little"), trivial, b"any"),  # non-canonical identity key
        (identity[:31] + b"\x80", trivial, b"any"),  # identity key with the sign bit
        (identity, (p + 1).to_bytes(32, "little") + bytes(32), b"any"),  # non-canonical R
        ((2).to_bytes(32, "little"), trivial, b"any"),  # key not on the curve
    ]
    # A key with a torsion component, A = a*G + T8, signing honestly: the cofactorless equation
    # holds only when 8 divides k; a cofactored verifier would accept every one.
    a = random_scalar()
    mixed = sodium.crypto_core_ed25519_add(base_mul(a).encode(), t8)
    wanted = {(key, k8): 3 for key in (mixed, t8) for k8 in (True, False)}
    for n in range(1000):
        if not any(wanted.values()):
            break
        message = f"message {n}".encode()
        r = random_scalar()
        R = base_mul(r).encode()
        for key, sig_r, s in ((mixed, R, None), (t8, identity, 0)):
            k = int.from_bytes(hashlib.sha512(sig_r + key + message).digest(), "little") % L
            if wanted[(key, k % 8 == 0)]:
                wanted[(key, k % 8 == 0)] -= 1
                scalar = (r + k * a) % L if s is None else s
                items.append((key, sig_r + scalar.to_bytes(32, "little"), message))
    return items


@needs_node
def test_node_signature_verification_agrees_with_tally_on_edge_cases() -> None:
    items = _edge_signatures()
    python = [verify_signature(pk, sig, msg) for pk, sig, msg in items]
    answer = node(
        {
            "op": "verify_signatures",
            "items": [[pk.hex(), sig.hex(), msg.hex()] for pk, sig, msg in items],
        }
    )
    assert answer["results"] == python
    assert python[:7] == [True, False, True, True, True, False, False]
    assert True in python[7:] and False in python[7:]  # the torsion cases go both ways


@needs_node
def test_node_paper_fallback_agrees_with_tally() -> None:
    # The operator's device voids a slip in node and a trustee enters a paper ballot in node:
    # tally accepts both; node reads tally's paper files and sums them into the same aggregate;
    # node refuses what tally refuses (a paper ballot beyond the slips voided).
    from tally.paper import (
        check_papers,
        check_voids,
        count_head,
        make_paper_ballot,
        make_void,
        paper_jsonl,
    )

    poll = live_poll(3, True, 2)
    assert poll.manifest.poll_uid is not None
    ballot = encrypt_ballot_with_randomness(poll.manifest.context, poll.credentials[0], [0, 1, 2])[
        0
    ]
    void_js = node({"op": "void", "manifest": poll.data, "code": poll.credentials[1].code})["void"]
    passphrase = "mật khẩu"
    key_file = poll.trustees[2].to_encrypted_json(passphrase)
    request = {"op": "paper_ballot", "manifest": poll.data, "key_file": key_file}
    paper_js = node({**request, "passphrase": passphrase, "choices": [3, None, 1]})["paper"]
    void_py = make_void(
        poll.credentials[2], fingerprint=poll.manifest.fingerprint, poll_uid=poll.manifest.poll_uid
    )
    paper_py = make_paper_ballot(
        poll.manifest.context,
        poll.trustees[0],
        poll_uid=poll.manifest.poll_uid,
        choices=[1, 1, None],
    )
    voids, papers = paper_jsonl([void_js, void_py]), paper_jsonl([paper_js, paper_py])
    assert len(check_voids(voids, manifest=poll.manifest)) == 2
    checked = check_papers(papers, manifest=poll.manifest)
    assert sorted(p.trustee.name for p in checked) == sorted(
        [poll.trustees[0].public.name, poll.trustees[2].public.name]
    )
    answer = node(
        {
            "op": "aggregate",
            "manifest": poll.data,
            "ballots": [ballot],
            "voids": voids.decode(),
            "paper": papers.decode(),
        }
    )
    verified = [verify_ballot(poll.manifest.context, ballot)]
    expected = board_aggregate(poll.manifest, verified, [p.ballot for p in checked])
    assert canonical_json(answer["aggregate"]) == canonical_json(expected)
    # The count head the trustee types (13.3): the same in node and in tally.
    head = count_head(expected["board_head"], [p.ballot.tracking_hash for p in checked], 2)
    assert answer["count_head"] == head != expected["board_head"]
    one_void = paper_jsonl([void_js])
    refused = node(
        {
            "op": "aggregate",
            "manifest": poll.data,
            "ballots": [ballot],
            "voids": one_void.decode(),
            "paper": papers.decode(),
        },
        ok=False,
    )
    assert "more than the 1 slips voided" in refused["error"]
