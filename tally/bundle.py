"""The audit bundle: a ZIP of a poll's public files, read back with strict limits."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

MEMBERS = (
    "manifest.json",
    "ballots.jsonl",
    "audit.jsonl",
    "tally.json",
    "result.json",
    "record.json",
    "record.sig",
)
# A poll opened with a version-2 manifest adds the attendance chain and the trustee's statement.
ATTENDANCE_MEMBERS = ("attendance.jsonl", "attendance.json")
MEMBERS_V2 = (*MEMBERS[:5], *ATTENDANCE_MEMBERS, *MEMBERS[5:])
# The files whose SHA-256 the record lists (the record cannot list itself or its signature).
HASHED_MEMBERS = MEMBERS[:5]
HASHED_MEMBERS_V2 = MEMBERS_V2[:7]
# A version-2 poll in which members voted on paper adds the slips voided for paper and the paper
# ballots the counting committee entered (docs/protocol.md 13.3): eleven members.
PAPER_MEMBERS = ("voids.jsonl", "paper.jsonl")
MEMBERS_PAPER = (*MEMBERS_V2[:7], *PAPER_MEMBERS, *MEMBERS[5:])
HASHED_MEMBERS_PAPER = MEMBERS_PAPER[:9]


def _members(names: Iterable[str]) -> tuple[str, ...]:
    present = set(names)
    if present & set(PAPER_MEMBERS):
        return MEMBERS_PAPER
    return MEMBERS_V2 if present & set(ATTENDANCE_MEMBERS) else MEMBERS


def members_of(files: Mapping[str, object]) -> tuple[str, ...]:
    """The member list a set of files follows: version 2's when it has the attendance files,
    with the paper fallback's when it has either paper file."""
    return _members(files)


def hashed_members(files: Mapping[str, object]) -> tuple[str, ...]:
    members = members_of(files)
    return members[: len(members) - 2]  # all but record.json and record.sig


# A 15-subject ballot is ~30 KB; 1 GiB leaves room for tens of thousands of ballots while
# refusing a ZIP bomb.
MAX_MEMBER_BYTES = 1 << 30


class BundleError(ValueError):
    """The bundle cannot be read: not a ZIP, wrong members, or oversized."""


def bundle_bytes(files: dict[str, bytes]) -> bytes:
    """The ZIP bytes; fixed timestamps so the same poll always gives the same bytes."""
    members = members_of(files)
    if set(files) != set(members):
        raise BundleError("a bundle has exactly the members " + ", ".join(members))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in members:
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buf.getvalue()


def write_bundle(path: Path, files: dict[str, bytes]) -> None:
    path.write_bytes(bundle_bytes(files))


STREAMED = "ballots.jsonl"  # the one member that grows with the poll: read piece by piece
PIECE = 1 << 20


def read_bundle_streamed(source: Path | bytes) -> tuple[dict[str, bytes], Iterator[bytes]]:
    """Every member but ``ballots.jsonl`` read as ``read_bundle`` reads them (the same checks of
    the member list and sizes), and ``ballots.jsonl`` as pieces of at most 1 MiB read from the
    ZIP as they are consumed, so that memory does not grow with the number of ballots."""
    files = read_bundle(source, skip=STREAMED)

    def pieces() -> Iterator[bytes]:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
            total = 0
            try:
                with zf.open(STREAMED) as fh:
                    while piece := fh.read(PIECE):
                        total += len(piece)
                        if total > MAX_MEMBER_BYTES:
                            raise BundleError(f"{STREAMED} is larger than {MAX_MEMBER_BYTES} bytes")
                        yield piece
            except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError) as exc:
                raise BundleError(f"{STREAMED} is damaged inside the ZIP ({exc})") from None

    for _ in pieces():  # a first pass, kept nowhere: a damaged or oversized member is refused now
        pass
    return files, pieces()


def read_bundle(source: Path | bytes, *, skip: str | None = None) -> dict[str, bytes]:
    """Read every member; refuse missing, extra, duplicated or oversized members. A bundle has
    exactly version 1's seven members, or those and the two attendance files (nine), or those
    and the two paper files (eleven)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"not a readable ZIP file: {exc}") from None
    with zf:
        names = [i.filename for i in zf.infolist()]
        if len(names) != len(set(names)):
            raise BundleError("a member appears twice in the ZIP")
        expected = _members(names)
        missing = [n for n in expected if n not in names]
        extra = [n for n in names if n not in expected]
        if missing or extra:
            detail = []
            if missing:
                detail.append("missing " + ", ".join(missing))
            if extra:
                detail.append("unexpected " + ", ".join(extra))
            raise BundleError("; ".join(detail))
        files = {}
        for info in zf.infolist():
            if info.file_size > MAX_MEMBER_BYTES:
                raise BundleError(f"{info.filename} is larger than {MAX_MEMBER_BYTES} bytes")
            if info.filename == skip:
                continue
            try:
                with zf.open(info) as fh:
                    data = fh.read(MAX_MEMBER_BYTES + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError):
                raise BundleError(f"{info.filename} is damaged inside the ZIP") from None
            if len(data) > MAX_MEMBER_BYTES:
                raise BundleError(f"{info.filename} is larger than {MAX_MEMBER_BYTES} bytes")
            files[info.filename] = data
        return files
