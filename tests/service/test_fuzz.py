"""Fuzzing the JSON API through the Flask app (WSGI, no network), on SQLite and PostgreSQL.

- The description (``GET /api/openapi.json``, ballot/openapi.py) names every ``/api`` rule.
- schemathesis generates requests from it, valid and invalid, for every operation, against polls
  in every state (draft, open, counting, counted) and unknown ones: never a 5xx, every response as
  described, every 4xx the JSON error object with both messages, and nothing stored.
- hypothesis mutates a valid ballot (a byte of any field, keys dropped, added or repeated, types
  changed, huge numbers, deep nesting, cut short, sent as another media type) and a valid share:
  each is refused with a 4xx and a readable message, nothing is stored, and afterwards the same
  credential casts the valid ballot (the trustee sends the valid share).
- Every request body has a size limit: the ballot's, and ``MAX_CONTENT_LENGTH`` on every POST.

Bounded: about 5,400 requests on the two databases (counted at the test client, 2026-11-24),
well under a minute per database.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from ballot import db
from ballot.models import (
    AuditEvent,
    Ballot,
    ChallengedCiphertext,
    CountShare,
    Credential,
    PaperBallot,
    Poll,
    PollCount,
    SlipVoid,
)
from ballot.services import casting
from ballot.web import limits
from tally.ballots import (
    encrypt_ballot,
    encrypt_ballot_from_seed,
    new_seed,
    rebuild_ciphertexts,
)
from tally.challenge import make_notice

from .conftest import EXAMPLE, OpenPoll, csrf_token, prepare_poll, run

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

# Generous limits: the fuzzer is one client sending thousands of requests in seconds.
UNLIMITED = {rule.setting: "1000000 per minute" for rule in limits.RULES}
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)
SCHEMA_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# --- helpers (also used by test_access and test_secrets) -----------------------------------------


def snapshot(app: Flask) -> dict[str, Any]:
    """Everything a request could have stored: ballots, spent or voided credentials, heads and
    states, counts and shares, audit events."""
    with app.app_context():
        s = db.get_session()
        count = select(func.count())
        return {
            "ballots": s.scalar(count.select_from(Ballot)),
            "used": s.scalar(count.where(Credential.used.is_(True))),
            "voided": s.scalar(count.where(Credential.voided.is_(True))),
            "credentials": s.scalar(count.select_from(Credential)),
            "polls": s.execute(
                select(Poll.id, Poll.state, Poll.board_head).order_by(Poll.id)
            ).all(),
            "counts": s.scalar(count.select_from(PollCount)),
            "bundles": s.scalar(count.where(PollCount.bundle.is_not(None))),
            "shares": s.scalar(count.select_from(CountShare)),
            "events": s.scalar(count.select_from(AuditEvent)),
            "challenged": s.scalar(count.select_from(ChallengedCiphertext)),
            "challenges": s.scalar(select(func.coalesce(func.sum(Credential.challenges), 0))),
            "paper": s.scalar(count.select_from(PaperBallot)),
            "voids": s.scalar(count.select_from(SlipVoid)),
        }


def api_error(response: Any) -> dict[str, str]:
    """The bilingual error object of an API response, checked."""
    assert response.headers["Content-Type"].startswith("application/json"), response.data[:300]
    body = json.loads(response.data)
    assert set(body) == {"error"}, body
    error: dict[str, str] = body["error"]
    assert set(error) == {"code", "message_vi", "message_en"}, error
    assert all(isinstance(v, str) and v.strip() for v in error.values()), error
    return error


def cast(poll: OpenPoll, k: int, grade: int = 1) -> dict[str, Any]:
    ctx = poll.manifest.context
    ballot = encrypt_ballot(ctx, poll.credential(k), [grade] * ctx.subjects)
    response = poll.post(ballot)
    assert response.status_code == 201, response.get_json()
    return ballot


def start_count(poll: OpenPoll, tmp_path: Path, voters: int) -> dict[str, Any]:
    """Cast ``voters`` ballots, close, start counting; the published aggregate."""
    for k in range(voters):
        cast(poll, k, grade=k % 4)
    run(poll.app, "poll", "close", str(poll.poll_id))
    poll.attest()
    run(
        poll.app,
        "count",
        "start",
        str(poll.poll_id),
        "--out-dir",
        str(tmp_path / f"count-{poll.poll_id}"),
    )
    response = poll.client.get(f"/api/polls/{poll.poll_id}/aggregate")
    assert response.status_code == 200
    return json.loads(response.data)  # type: ignore[no-any-return]


def finish_count(poll: OpenPoll, aggregate: dict[str, Any]) -> None:
    for trustee in poll.trustees:
        response = poll.client.post(
            f"/api/polls/{poll.poll_id}/shares", json=trustee.decrypt_share(aggregate)
        )
        assert response.status_code == 201, response.get_json()
    run(poll.app, "count", "finish", str(poll.poll_id))


@dataclass
class World:
    """Polls in every state: 1 open (2 of 5 slips used), 2 counting (no share yet), 3 counted,
    4 to 6 drafts (a second import of the sample conference)."""

    app: Flask
    open: OpenPoll
    counting: OpenPoll
    counted: OpenPoll
    aggregate: dict[str, Any]  # poll 2's

    @property
    def client(self) -> FlaskClient:
        return self.app.test_client()


@pytest.fixture
def world(conference: Flask, tmp_path: Path) -> World:
    conference.config.update(UNLIMITED)
    first = prepare_poll(conference, tmp_path, 1, 5)
    cast(first, 0)
    cast(first, 1, grade=3)
    counting = prepare_poll(conference, tmp_path, 2, 3)
    aggregate = start_count(counting, tmp_path, 2)
    counted = prepare_poll(conference, tmp_path, 3, 3)
    finish_count(counted, start_count(counted, tmp_path, 2))
    run(conference, "conference", "import", str(EXAMPLE))
    return World(conference, first, counting, counted, aggregate)


# --- the description -----------------------------------------------------------------------------


def openapi_path(rule: str) -> str:
    """``/api/polls/<int(max=…):poll_id>/credentials/<key>`` -> ``/api/polls/{poll_id}/…/{key}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_every_api_rule_is_described(app: Flask) -> None:
    described = app.test_client().get("/api/openapi.json")
    assert described.status_code == 200
    spec = described.get_json()
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routes = {
        (openapi_path(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert routes == documented
    # Every operation documents the error object for each of its error statuses.
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
                    assert response["description"], (path, method, status)
    error = spec["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["required"]) == {"code", "message_vi", "message_en"}


def test_unknown_addresses_and_wrong_methods_get_the_error_object(app: Flask) -> None:
    client = app.test_client()
    for method, path, status in (
        ("GET", "/api/nothing-here", 404),
        ("GET", "/api/polls/abc/board", 404),
        ("GET", "/api/polls/-1/manifest", 404),
        ("GET", "/api/polls/1/credentials/a/b", 404),
        ("POST", "/api/polls/1/credentials/" + "0" * 64, 405),
        ("DELETE", "/api/polls/1/ballots", 405),
        ("PUT", "/api/polls/1/board", 405),
        ("POST", "/api/polls/1/manifest", 405),
        ("GET", "/api/polls/1/shares", 405),
    ):
        response = client.open(path, method=method)
        assert response.status_code == status, (method, path)
        error = api_error(response)
        assert error["code"] == {404: "not_found", 405: "method_not_allowed"}[status]
        if status == 405:
            assert method not in response.headers["Allow"]
    # Pages outside the API keep their HTML error pages.
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.content_type.startswith("text/html")


# --- schemathesis --------------------------------------------------------------------------------


def _strategies(operation: Any, polls: tuple[int, ...]) -> list[Any]:
    """Generated cases for one operation: valid and invalid, at any poll number and at ours."""
    found = []
    has_more = bool(list(operation.body)) or len(operation.path_parameters) > 1
    param = "conference_id" if "{conference_id}" in operation.path else "poll_id"
    ids = (1, 2) if param == "conference_id" else polls
    for mode in GenerationMode:
        found.append(operation.as_strategy(generation_mode=mode))
        for value in ids:
            if mode.is_negative and not has_more:
                continue  # nothing left to make invalid
            found.append(
                operation.as_strategy(generation_mode=mode, path_parameters={param: value})
            )
    return found


POLL_OPERATIONS = {
    "GET /api/polls/{poll_id}/aggregate",
    "GET /api/polls/{poll_id}/ballots",
    "POST /api/polls/{poll_id}/ballots",
    "GET /api/polls/{poll_id}/board",
    "GET /api/polls/{poll_id}/bundle",
    "GET /api/polls/{poll_id}/credentials/{key}",
    "GET /api/polls/{poll_id}/manifest",
    "POST /api/polls/{poll_id}/shares",
    "POST /api/polls/{poll_id}/challenges",
    "GET /api/polls/{poll_id}/attendance",
    "POST /api/polls/{poll_id}/attendance-statement",
    "GET /api/conferences/{conference_id}/ceremony",
    "GET /api/conferences/{conference_id}/ceremony/ceremony.json",
    "GET /api/conferences/{conference_id}/ceremony/dealings.json",
    "POST /api/conferences/{conference_id}/ceremony/dealings",
    "POST /api/conferences/{conference_id}/ceremony/checks",
    "GET /api/polls/{poll_id}/voids",
    "GET /api/polls/{poll_id}/paper",
    "POST /api/polls/{poll_id}/paper",
}


def fuzz(strategy: Any, examples: int, seen: set[int]) -> None:
    @settings(FUZZ, max_examples=examples)
    @given(case=strategy)
    def one(case: Any) -> None:
        response = case.call()
        seen.add(response.status_code)
        case.validate_response(response, checks=SCHEMA_CHECKS)
        assert response.status_code < 500
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["message_vi"].strip() and error["message_en"].strip()

    one()


def test_schemathesis_finds_no_server_error_and_nothing_is_stored(world: World) -> None:
    app = world.app
    before = snapshot(app)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # All but the description itself (schemathesis leaves out the schema's own address).
    assert (
        len(operations) == len(POLL_OPERATIONS) and {o.label for o in operations} == POLL_OPERATIONS
    )
    polls = (1, 2, 3, 4)
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        # Each mode at each poll, so every state is reached. Generating a ballot or a share from
        # its schema is slow; reading is cheap.
        examples = 5 if operation.method.upper() == "POST" else 20
        seen = statuses.setdefault(operation.label, set())
        for strategy in _strategies(operation, polls):
            fuzz(strategy, examples, seen)
    # The polls in their states were reached, not only unknown numbers.
    assert {200, 404, 409} <= statuses["GET /api/polls/{poll_id}/manifest"], statuses
    assert {200, 404, 409} <= statuses["GET /api/polls/{poll_id}/bundle"], statuses
    assert {400, 404, 409} <= statuses["POST /api/polls/{poll_id}/ballots"], statuses
    assert {400, 404, 409} <= statuses["POST /api/polls/{poll_id}/shares"], statuses
    assert {200, 404} <= statuses["GET /api/polls/{poll_id}/credentials/{key}"], statuses
    assert {400, 404, 409} <= statuses["POST /api/polls/{poll_id}/challenges"], statuses
    assert snapshot(app) == before
    # No slip was burned: the three unused ones of the open poll still cast.
    for k in (2, 3, 4):
        cast(world.open, k)


# --- mutations of a valid ballot -----------------------------------------------------------------


class Raw:
    """A JSON token written as is (numbers too big for json.dumps, deep nesting, broken text)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return False


def dumps(
    value: Any, repeat: tuple[tuple[Any, ...], str] | None = None, at: tuple[Any, ...] = ()
) -> str:
    """JSON text of ``value``; with ``repeat=(path, key)`` the object at ``path`` has ``key``
    twice (the second time with the same value)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        items = [f"{json.dumps(k)}:{dumps(v, repeat, (*at, k))}" for k, v in value.items()]
        if repeat is not None and repeat[0] == at and repeat[1] in value:
            key = repeat[1]
            items.append(f"{json.dumps(key)}:{dumps(value[key], None)}")
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v, repeat, (*at, i)) for i, v in enumerate(value)) + "]"
    return json.dumps(value)


def nodes(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield at, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from nodes(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from nodes(v, (*at, i))


def replace(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    copied = copy.copy(value)
    copied[at[0]] = replace(value[at[0]], at[1:], new)
    return copied


def get(value: Any, at: tuple[Any, ...]) -> Any:
    for step in at:
        value = value[step]
    return value


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=80)
    | st.sampled_from(["", "0" * 64, "f" * 64, "tally-ballot/1", "tally-share/1"]),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=12,
)
RAW_TOKENS = st.one_of(
    st.integers(min_value=19, max_value=6000).map(lambda n: Raw("9" * n)),  # huge numbers
    st.integers(min_value=1, max_value=6000).map(lambda n: Raw("-1" + "0" * n)),
    st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "-0", "1.0", "0x10", "1_000"]).map(Raw),
    st.integers(min_value=33, max_value=20000).map(lambda n: Raw("[" * n + "]" * n)),  # nesting
    st.integers(min_value=33, max_value=5000).map(lambda n: Raw('{"a":' * n + "1" + "}" * n)),
    st.sampled_from(['"\\ud800"', '"\\u0000"', '"a\\u0000b"', '"\\udfff\\ud800"', "tru", '"']).map(
        Raw
    ),
)
FLIP_CHARS = '0123456789abcdefABCDEF\x00 -é\ud800"\\'
MEDIA_TYPES = (
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
    "",
)


KINDS = ("flip", "case", "drop", "add", "repeat", "retype", "raw", "swap", "cut", "top")


@st.composite
def mutations(
    draw: st.DrawFn, valid: dict[str, Any], kinds: tuple[str, ...] = KINDS
) -> tuple[str, bytes, str]:
    """(what was done, body, content type) for a changed copy of ``valid``."""
    everything = list(nodes(valid))
    objects = [(at, v) for at, v in everything if isinstance(v, dict)]
    strings = [(at, v) for at, v in everything if isinstance(v, str) and v]
    kind = draw(st.sampled_from(kinds))
    body: str
    if kind == "flip":  # one character of one field
        at, text = draw(st.sampled_from(strings))
        i = draw(st.integers(0, len(text) - 1))
        char = draw(st.sampled_from(FLIP_CHARS))
        assume(char != text[i])
        body = dumps(replace(valid, at, text[:i] + char + text[i + 1 :]))
        what = f"flip {at}[{i}] -> {char!r}"
    elif kind == "case":  # upper-case hex: same bytes, not the canonical form
        at, text = draw(st.sampled_from(strings))
        assume(text.upper() != text)
        body, what = dumps(replace(valid, at, text.upper())), f"upper {at}"
    elif kind == "drop":
        at, obj = draw(st.sampled_from(objects))
        key = draw(st.sampled_from(sorted(obj)))
        smaller = {k: v for k, v in obj.items() if k != key}
        body, what = dumps(replace(valid, at, smaller)), f"drop {at}.{key}"
    elif kind == "add":
        at, obj = draw(st.sampled_from(objects))
        key = draw(st.text(max_size=10))
        assume(key not in obj)
        bigger = {**obj, key: draw(JSON_VALUES)}
        body, what = dumps(replace(valid, at, bigger)), f"add {at}.{key!r}"
    elif kind == "repeat":  # the same key twice: parsers disagree on which wins
        at, obj = draw(st.sampled_from(objects))
        key = draw(st.sampled_from(sorted(obj)))
        body, what = dumps(valid, repeat=(at, key)), f"repeat {at}.{key}"
    elif kind == "retype":
        at, old = draw(st.sampled_from(everything))
        new = draw(JSON_VALUES)
        assume(new != old or type(new) is not type(old))
        body, what = dumps(replace(valid, at, new)), f"retype {at} -> {new!r:.60}"
    elif kind == "raw":
        at, _ = draw(st.sampled_from(everything))
        token = draw(RAW_TOKENS)
        body, what = dumps(replace(valid, at, token)), f"raw {at} -> {token.text[:40]}"
    elif kind == "swap":  # two fields of the same kind exchanged (e.g. two ciphertexts)
        (a, x), (b, y) = draw(st.lists(st.sampled_from(strings), min_size=2, max_size=2))
        assume(x != y and len(a) == len(b) and a[-1] == b[-1])
        body = dumps(replace(replace(valid, a, y), b, x))
        what = f"swap {a} {b}"
    elif kind == "cut":
        text = dumps(valid)
        i = draw(st.integers(0, len(text) - 1))
        body, what = text[:i], f"cut at {i}"
    else:  # something else entirely
        token = draw(st.one_of(JSON_VALUES, RAW_TOKENS))
        assume(not isinstance(token, dict) or token != valid)
        body, what = dumps(token), f"top {dumps(token)[:60]}"
    media_type = draw(st.sampled_from(MEDIA_TYPES))
    return what, body.encode("utf-8", "surrogatepass"), media_type


def post(client: FlaskClient, url: str, body: bytes, media_type: str) -> Any:
    headers = {"Content-Type": media_type} if media_type else {}
    return client.post(url, data=body, headers=headers)


@pytest.fixture
def two_open(poll: OpenPoll, tmp_path: Path) -> tuple[OpenPoll, OpenPoll]:
    poll.app.config.update(UNLIMITED)
    return poll, prepare_poll(poll.app, tmp_path, 2, 3)


def test_mutated_ballots_are_refused_and_the_slip_still_votes(
    two_open: tuple[OpenPoll, OpenPoll],
) -> None:
    first, _ = two_open
    ctx = first.manifest.context
    valid = encrypt_ballot(ctx, first.credential(0), [2] * ctx.subjects)
    before = snapshot(first.app)
    client = first.app.test_client()
    seen: set[int] = set()

    @settings(FUZZ, max_examples=1000)
    @given(mutated=mutations(valid))
    def refused(mutated: tuple[str, bytes, str]) -> None:
        what, body, media_type = mutated
        response = post(client, "/api/polls/1/ballots", body, media_type)
        seen.add(response.status_code)
        assert response.status_code in (400, 403, 413), (what, response.data[:300])
        assert api_error(response)["code"] in ("malformed_ballot", "unknown_credential"), what

    refused()
    assert 400 in seen
    assert snapshot(first.app) == before

    # The same ballot for another poll, or for a poll that is not open: refused, nothing stored.
    response = post(client, "/api/polls/2/ballots", json.dumps(valid).encode(), "application/json")
    assert response.status_code == 400 and "another poll" in api_error(response)["message_en"]
    run(first.app, "poll", "close", "2")
    response = post(client, "/api/polls/2/ballots", json.dumps(valid).encode(), "application/json")
    assert response.status_code == 409 and api_error(response)["code"] == "poll_not_open"
    response = post(client, "/api/polls/4/ballots", json.dumps(valid).encode(), "application/json")
    assert response.status_code == 404 and api_error(response)["code"] == "not_found"
    assert snapshot(first.app)["ballots"] == before["ballots"]

    # The slip was never burned: its valid ballot is accepted, and then only once.
    accepted = first.post(valid)
    assert accepted.status_code == 201, accepted.get_json()
    replay = first.post(valid)
    assert replay.status_code == 409 and api_error(replay)["code"] == "credential_used"
    again = first.post(encrypt_ballot(ctx, first.credential(0), [0] * ctx.subjects))
    assert again.status_code == 409
    assert [e["tracking_hash"] for e in first.board()["entries"]] == [
        accepted.get_json()["tracking_hash"]
    ]


def test_mutated_shares_are_refused_and_the_trustee_can_still_send(
    poll: OpenPoll, tmp_path: Path
) -> None:
    poll.app.config.update(UNLIMITED)
    aggregate = start_count(poll, tmp_path, 2)
    valid = poll.trustees[0].decrypt_share(aggregate)
    before = snapshot(poll.app)
    client = poll.app.test_client()

    # Not "add": tally-share/1 tolerates unknown fields (docs/protocol.md 14.2 lists only what
    # verify_share requires), so a valid share with an extra field is a valid share.
    @settings(FUZZ, max_examples=500)
    @given(mutated=mutations(valid, tuple(k for k in KINDS if k != "add")))
    def refused(mutated: tuple[str, bytes, str]) -> None:
        what, body, media_type = mutated
        response = post(client, "/api/polls/1/shares", body, media_type)
        assert response.status_code in (400, 413), (what, response.data[:300])
        assert api_error(response)["code"] in ("bad_share", "unknown_trustee"), what

    refused()
    assert snapshot(poll.app) == before
    response = client.post("/api/polls/1/shares", json=valid)
    assert response.status_code == 201, response.get_json()
    response = client.post("/api/polls/1/shares", json=valid)
    assert response.status_code == 409 and api_error(response)["code"] == "share_exists"


def test_mutated_challenge_notices_are_refused_and_store_nothing(poll: OpenPoll) -> None:
    """The booth's challenge notice (``POST /api/polls/<id>/challenges``): a genuine notice is
    recorded once (the hashes of its ciphertexts' ``a``, a count on the slip's row); any changed
    one is a 400/403/409/413, never a crash, and stores nothing. The challenged ballot is then
    refused at cast, and the slip still votes with a fresh encryption."""
    poll.app.config.update(UNLIMITED)
    ctx = poll.manifest.context
    seed = new_seed()
    ballot = encrypt_ballot_from_seed(ctx, poll.credential(0), [1] * ctx.subjects, seed)
    valid = make_notice(
        ctx.fingerprint, poll.credential(0), rebuild_ciphertexts(ctx, [1] * ctx.subjects, seed)
    )
    client = poll.app.test_client()
    before = snapshot(poll.app)
    response = client.post("/api/polls/1/challenges", json=valid)
    assert response.status_code == 201, response.get_json()
    before["challenged"] += ctx.subjects * ctx.grades
    before["challenges"] += 1
    assert snapshot(poll.app) == before

    @settings(FUZZ, max_examples=300)
    @given(mutated=mutations(valid))
    def refused(mutated: tuple[str, bytes, str]) -> None:
        what, body, media_type = mutated
        response = post(client, "/api/polls/1/challenges", body, media_type)
        assert response.status_code in (400, 403, 413), (what, response.data[:300])
        assert api_error(response)["code"] in (
            "malformed_challenge",
            "malformed_ballot",
            "too_large",
            "unknown_credential",
        ), what

    refused()
    assert snapshot(poll.app) == before
    refused_cast = poll.post(ballot)
    assert refused_cast.status_code == 409
    assert api_error(refused_cast)["code"] == "challenged_ballot"
    assert snapshot(poll.app) == before  # the slip is not burned
    fresh = encrypt_ballot_from_seed(ctx, poll.credential(0), [1] * ctx.subjects, new_seed())
    assert poll.post(fresh).status_code == 201


ODD_TEXT = ("\x00", "a\x00b", "0" * 63 + "\x00", "\ud800", "é" * 64, " " * 64, "", "A" * 64)


def _first_strings(value: Any) -> list[tuple[Any, ...]]:
    """Paths of the top-level strings and of the strings in the first item of each list."""
    return [
        at
        for at, v in nodes(value)
        if isinstance(v, str) and all(step == 0 for step in at if isinstance(step, int))
    ]


def test_odd_text_in_any_field_is_refused_on_both_databases(poll: OpenPoll, tmp_path: Path) -> None:
    """NUL bytes (which PostgreSQL cannot store or compare), lone surrogates, non-hex, empty:
    in every kind of field of a ballot and of a share, a 400 and nothing stored."""
    app = poll.app
    app.config.update(UNLIMITED)
    counting = prepare_poll(app, tmp_path, 2, 3)
    aggregate = start_count(counting, tmp_path, 1)
    ctx = poll.manifest.context
    ballot = encrypt_ballot(ctx, poll.credential(0), [1] * ctx.subjects)
    share = counting.trustees[0].decrypt_share(aggregate)
    client = app.test_client()
    before = snapshot(app)
    for url, valid, codes in (
        ("/api/polls/1/ballots", ballot, {"malformed_ballot"}),
        ("/api/polls/2/shares", share, {"bad_share", "unknown_trustee"}),
    ):
        paths = _first_strings(valid)
        assert len(paths) >= 6
        for at in paths:
            for text in ODD_TEXT:
                body = dumps(replace(valid, at, text)).encode()
                response = client.post(url, data=body, content_type="application/json")
                assert response.status_code == 400, (url, at, text, response.data[:300])
                assert api_error(response)["code"] in codes
    assert snapshot(app) == before
    assert poll.post(ballot).status_code == 201
    assert client.post("/api/polls/2/shares", json=share).status_code == 201


# --- size limits ---------------------------------------------------------------------------------


def test_oversized_ballots_are_413_however_they_are_sent(poll: OpenPoll) -> None:
    app, client = poll.app, poll.app.test_client()
    limit = casting.MAX_BALLOT_BYTES
    big = cast_body = json.dumps({"padding": "x" * limit}).encode()
    before = snapshot(app)
    url = "/api/polls/1/ballots"
    # With a Content-Length: refused before reading.
    response = client.post(url, data=big, content_type="application/json")
    assert response.status_code == 413 and api_error(response)["code"] == "too_large"
    # Over the whole app's limit too.
    huge = b" " * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(url, data=huge, content_type="application/json")
    assert response.status_code == 413 and api_error(response)["code"] == "too_large"
    # Chunked (no Content-Length): the read stops after the limit.
    response = client.post(
        url,
        input_stream=io.BytesIO(cast_body),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413 and api_error(response)["code"] == "too_large"
    # A Content-Length that lies (shorter than the body): the body is cut, so not valid JSON.
    valid = json.dumps(encrypt_ballot(poll.manifest.context, poll.credential(0), [1] * 15))
    response = client.post(
        url,
        data=valid.encode(),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": "100"},
    )
    assert response.status_code == 400 and api_error(response)["code"] == "malformed_ballot"
    assert snapshot(app) == before
    assert poll.post(valid).status_code == 201


def test_oversized_shares_are_413(poll: OpenPoll) -> None:
    client = poll.app.test_client()
    huge = b"x" * (poll.app.config["MAX_CONTENT_LENGTH"] + 1)
    for kwargs in (
        {"data": huge},
        {"input_stream": io.BytesIO(huge), "environ_overrides": {"wsgi.input_terminated": True}},
    ):
        response = client.post("/api/polls/1/shares", content_type="application/json", **kwargs)
        assert response.status_code == 413 and api_error(response)["code"] == "too_large"


def _example_url(rule: Any) -> str:
    values = {
        "poll_id": 1,
        "conference_id": 1,
        "subject_id": 1,
        "trustee_id": 1,
        "direction": "up",
        "name": "aggregate.json",
        "code": "vi",
        "filename": "booth.css",
    }
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def test_every_post_route_refuses_a_body_over_the_limit(
    poll: OpenPoll, operator_client: FlaskClient
) -> None:
    """Every POST, logged in or not, form or upload: 413 past MAX_CONTENT_LENGTH, nothing stored."""
    app = poll.app
    app.config.update(UNLIMITED)
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit <= 1024 * 1024
    token = csrf_token(operator_client.get("/operator/").get_data(as_text=True))
    before = snapshot(app)
    posts = [r for r in app.url_map.iter_rules() if "POST" in (r.methods or set())]
    assert len(posts) >= 15
    payload = "x" * (limit + 1)
    for rule in posts:
        url = _example_url(rule)
        for client in (operator_client, app.test_client()):
            for data, content_type in (
                ({"csrf_token": token, "field": payload}, "application/x-www-form-urlencoded"),
                (
                    {"csrf_token": token, "file": (io.BytesIO(payload.encode()), "f.json")},
                    "multipart/form-data",
                ),
            ):
                response = client.post(url, data=data, content_type=content_type)
                assert response.status_code == 413, (url, response.status_code)
                if url.startswith("/api/"):
                    api_error(response)
                else:
                    page = response.get_data(as_text=True)
                    assert "413" in page or "KiB" in page or "MiB" in page, (url, page[:300])
    assert snapshot(app) == before
