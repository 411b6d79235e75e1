"""The board's checks (docs/protocol.md 18, checks 3-6), streamed: ``ballots.jsonl`` is read line by
line, its ballots verified in chunks on every core, and only what later checks need is kept (the
number of lines, the heads, the credentials used, the SHA-256 of the file and the running sum of
the ciphertexts), so memory does not grow with the number of ballots.

Each worker parses its chunk's lines, checks their form (canonical JSON, exactly the four fields)
and verifies their ballots (12.4), and returns per line only the line's fields it needs, the
ballot's tracking hash and credential or the error, and the chunk's sum of valid ciphertexts. The
main process takes the chunks in board order and makes the checks that depend on order or on the
whole board: the credentials listed and used once, the index and the hash chain.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tally.ballots import BallotError, PollContext, VerifiedBallot, verify_ballot
from tally.board import genesis, next_head
from tally.canonical import CanonicalError, canonical_json, parse_json
from tally.elgamal import ZERO, Ciphertext
from tally.manifest import Manifest
from tally.trustees import make_aggregate

BOARD_LINE_FIELDS = {"index", "ballot", "tracking_hash", "chain"}
CHUNK = 16  # lines per task: big enough to pay for the round trip, small enough to stay flat
INLINE_BELOW = 40  # fewer lines than this are checked in this process

Sums = list[list[Ciphertext]]


@dataclass(frozen=True)
class Line:
    """What the main process keeps of one board line while it checks the order."""

    number: int
    problem: str  # a form problem (not canonical, not JSON), or ""
    malformed: bool  # not an object with exactly the four fields
    index: Any = None
    chain: Any = None
    listed_hash: Any = None
    tracking: bytes | None = None  # the ballot's tracking hash when it verified
    credential: bytes | None = None
    error: str = ""


@dataclass
class Board:
    """The board as checked: every figure the later checks use, and nothing per ballot."""

    lines: int = 0
    published_head: str | None = None  # the last line's chain as written (genesis if empty)
    head: str = ""  # the head recomputed along the chain
    sha256: str = ""
    credentials: frozenset[bytes] = frozenset()
    sums: Sums | None = None
    trailing_newline: bool = True
    form_problems: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.lines

    def aggregate(self, manifest: Manifest, paper: Iterable[VerifiedBallot] = ()) -> dict[str, Any]:
        """The aggregate (14.1) of the board's ballots and the paper ballots (13.3)."""
        assert self.sums is not None
        sums = [list(row) for row in self.sums]
        extra = 0
        for ballot in paper:
            extra += 1
            for i, row in enumerate(ballot.ciphertexts):
                sums[i] = [s + c for s, c in zip(sums[i], row, strict=True)]
        return make_aggregate(manifest.fingerprint, self.head, self.lines + extra, sums)


# --- the workers -------------------------------------------------------------------------------

_context: PollContext | None = None


def _init(ctx: PollContext) -> None:
    global _context
    _context = ctx


def _empty_sums(ctx: PollContext) -> Sums:
    return [[ZERO] * ctx.grades for _ in range(ctx.subjects)]


def check_lines(ctx: PollContext, items: list[tuple[int, bytes]]) -> tuple[list[Line], Sums]:
    """One chunk of board lines: their form, their ballots, the sum of the valid ones."""
    sums = _empty_sums(ctx)
    out = []
    for number, raw in items:
        try:
            entry = parse_json(raw)
        except (ValueError, CanonicalError, UnicodeDecodeError, RecursionError):
            out.append(Line(number, f"line {number}: not JSON", True))
            continue
        problem = canonical_problem(entry, raw)
        problem = f"line {number}: {problem}" if problem else ""
        if not isinstance(entry, dict) or set(entry) != BOARD_LINE_FIELDS:
            out.append(Line(number, problem, True))
            continue
        try:
            verified = verify_ballot(ctx, entry["ballot"])
        except BallotError as exc:
            out.append(
                Line(number, problem, False, entry["index"], entry["chain"],
                     entry["tracking_hash"], error=str(exc))
            )  # fmt: skip
            continue
        for i, row in enumerate(verified.ciphertexts):
            sums[i] = [s + c for s, c in zip(sums[i], row, strict=True)]
        out.append(
            Line(number, problem, False, entry["index"], entry["chain"], entry["tracking_hash"],
                 verified.tracking_hash, verified.credential)
        )  # fmt: skip
    return out, sums


def _check_chunk(items: list[tuple[int, bytes]]) -> tuple[list[Line], Sums]:
    assert _context is not None
    return check_lines(_context, items)


# --- reading and mapping -----------------------------------------------------------------------


def canonical_problem(value: Any, data: bytes) -> str:
    """ "" when ``data`` is exactly the canonical JSON of ``value`` (5), else why not."""
    try:
        same = canonical_json(value) == data
    except CanonicalError as exc:
        return f"not canonical JSON ({exc})"
    return "" if same else "not canonical JSON (docs/protocol.md §5)"


class Lines:
    """The lines of a JSON-lines member, without their newlines, read from ``chunks`` of bytes
    (the member held in memory, or read piece by piece from the ZIP); after the lines are read,
    ``sha256`` is the member's and ``trailing_newline`` says whether it ends with one."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._digest = hashlib.sha256()
        self.trailing_newline = True

    @classmethod
    def of(cls, data: bytes) -> Lines:
        return cls([data])

    def __iter__(self) -> Iterator[bytes]:
        rest = b""
        for piece in self._chunks:
            self._digest.update(piece)
            rest += piece
            *complete, rest = rest.split(b"\n")
            yield from complete
        # A last line without its newline is not a line (the member fails its form check).
        self.trailing_newline = not rest

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


def _chunks(lines: Iterable[bytes], board: Board) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for number, raw in enumerate(lines, start=1):
        board.lines = number
        chunk.append((number, raw))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _bounded_map(
    fn: Callable[[list[tuple[int, bytes]]], tuple[list[Line], Sums]],
    chunks: Iterator[list[tuple[int, bytes]]],
    pool: ProcessPoolExecutor,
    window: int,
) -> Iterator[tuple[list[Line], Sums]]:
    """``pool.map`` in order, with at most ``window`` chunks in flight (map would read them all)."""
    pending: deque[Future[tuple[list[Line], Sums]]] = deque()
    for chunk in chunks:
        pending.append(pool.submit(fn, chunk))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _results(
    ctx: PollContext, chunks: Iterator[list[tuple[int, bytes]]], workers: int
) -> Iterator[tuple[list[Line], Sums]]:
    """The chunks checked in order: here while the board is small, else on ``workers`` cores."""
    first: list[list[tuple[int, bytes]]] = []
    for chunk in chunks:
        first.append(chunk)
        if sum(len(c) for c in first) >= INLINE_BELOW:
            break
    else:  # the whole board is small
        for chunk in first:
            yield check_lines(ctx, chunk)
        return
    if workers <= 1:
        for chunk in (*first, *chunks):
            yield check_lines(ctx, chunk)
        return

    def every() -> Iterator[list[tuple[int, bytes]]]:
        yield from first
        yield from chunks

    with ProcessPoolExecutor(workers, initializer=_init, initargs=(ctx,)) as pool:
        yield from _bounded_map(_check_chunk, every(), pool, window=workers * 3)


# --- the checks --------------------------------------------------------------------------------


@dataclass
class _Order:
    """The order-dependent checks, fed line by line in board order."""

    fingerprint: bytes
    listed: frozenset[bytes]
    head: bytes = b""
    chain_error: str = ""
    malformed_at: int | None = None
    bad: list[tuple[int, str]] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    twice: list[int] = field(default_factory=list)
    seen: set[bytes] = field(default_factory=set)
    last_chain: Any = None

    def __post_init__(self) -> None:
        self.head = genesis(self.fingerprint)

    def feed(self, line: Line, problems: list[str]) -> None:
        if line.problem:
            problems.append(line.problem)
        if line.malformed:
            if self.malformed_at is None:
                self.malformed_at = line.number
            return
        self.last_chain = line.chain
        n = line.number
        if line.tracking is None:
            self.bad.append((n, line.error))
        else:
            assert line.credential is not None
            if line.credential not in self.listed:
                self.unknown.append(n)
            if line.credential in self.seen:
                self.twice.append(n)
            self.seen.add(line.credential)
        if self.chain_error:
            return
        if type(line.index) is not int or line.index != n:
            self.chain_error = f"entry {n} has index {line.index} (dropped or reordered ballots)"
            return
        if line.tracking is not None and line.listed_hash != line.tracking.hex():
            self.chain_error = f"entry {n}: tracking hash does not match the ballot"
            return
        try:
            listed = bytes.fromhex(line.listed_hash)
        except (TypeError, ValueError):
            listed = b""
        if len(listed) != 32:
            self.chain_error = f"entry {n}: the tracking hash is not 32 bytes of hex"
            return
        self.head = next_head(self.head, listed)
        if line.chain != self.head.hex():
            self.chain_error = (
                f"entry {n}: chain hash breaks (a ballot was dropped, added or reordered)"
            )


def scan_board(
    manifest: Manifest, lines: Lines, workers: int | None = None
) -> tuple[Board, _Order, list[str]]:
    """Read and check every line (in parallel); return the board's figures, the order checks'
    findings and the form problems, for ``tally.verify`` to report."""
    ctx = manifest.context
    board = Board()
    order = _Order(manifest.fingerprint, manifest.credentials)
    problems: list[str] = []
    sums = _empty_sums(ctx)
    cores = workers or os.cpu_count() or 1
    for checked, part in _results(ctx, _chunks(lines, board), cores):
        for line in checked:
            order.feed(line, problems)
        for i, row in enumerate(part):
            sums[i] = [s + c for s, c in zip(sums[i], row, strict=True)]
    board.sha256 = lines.sha256
    board.trailing_newline = lines.trailing_newline
    board.head = order.head.hex()
    board.credentials = frozenset(order.seen)
    board.sums = sums
    if order.malformed_at is None:
        chain = order.last_chain if board.lines else genesis(manifest.fingerprint).hex()
        board.published_head = chain if isinstance(chain, str) else None
    if not lines.trailing_newline:
        problems.insert(0, "the last line does not end with a newline")
    return board, order, problems
