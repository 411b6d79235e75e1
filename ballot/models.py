"""The service's tables (SQLAlchemy 2.0 typed models).

Only public material is stored: credentials are their Ed25519 public keys (the secrets exist only on
the printed slips), ballots are ciphertexts with proofs. The schema itself is created by the Alembic
migrations in ``ballot/migrations``; keep the two in step.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tally.authority import new_poll_uid
from tally.results import SubjectInfo

POLL_STATES = ("draft", "open", "closed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Conference(Base):
    __tablename__ = "conference"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(String(500))  # the deciding body, e.g. Ban Thường vụ Tỉnh ủy
    date: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(500), default="")
    members: Mapped[int] = mapped_column(Integer)  # incumbent members
    present: Mapped[int] = mapped_column(Integer)  # members present
    # The counting record's party-document header (docs/operator-guide.md): "ĐẢNG BỘ TỈNH ĐỒNG
    # NAI" over "BAN THƯỜNG VỤ TỈNH ỦY", the number's symbol ("BB/TU"), the place of the date line
    # ("Đồng Nai"), the session ("Hội nghị lần thứ 5 Ban Chấp hành Đảng bộ tỉnh khóa I") and the
    # number of copies the record is made in.
    superior_body: Mapped[str] = mapped_column(String(500), default="")
    issuing_body: Mapped[str] = mapped_column(String(500), default="")
    doc_symbol: Mapped[str] = mapped_column(String(500), default="")
    place_name: Mapped[str] = mapped_column(String(500), default="")
    session: Mapped[str] = mapped_column(String(500), default="")
    copies: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    polls: Mapped[list[Poll]] = relationship(back_populates="conference", order_by="Poll.position")


class Poll(Base):
    __tablename__ = "poll"
    __table_args__ = (
        CheckConstraint("state IN ('draft', 'open', 'closed')", name="ck_poll_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 128 random bits drawn at creation: the poll's identity across deployments, which the
    # authority's credential list and the manifest name (tally.authority.new_poll_uid).
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=new_poll_uid)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conference.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer)
    rules_id: Mapped[str] = mapped_column(String(100))
    # Who votes in this poll (e.g. the Standing Committee, or the whole Executive Committee).
    members: Mapped[int] = mapped_column(Integer)
    # Members present: the opening figure while draft, then the attendance chain's last entry.
    present: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    # The credential authority's signed list (canonical JSON, tally-credential-list/1), imported
    # while draft; the server never sees a slip's secret.
    credential_list: Mapped[str | None] = mapped_column(Text, default=None)
    attendance_head: Mapped[str | None] = mapped_column(String(64), default=None)
    # A trustee's signed statement of the closed poll (canonical JSON, tally-attendance/1).
    attendance_statement: Mapped[str | None] = mapped_column(Text, default=None)
    # Fixed when the poll opens; never changed afterwards.
    fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    manifest: Mapped[str | None] = mapped_column(Text, default=None)  # canonical JSON
    board_head: Mapped[str | None] = mapped_column(String(64), default=None)
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The lawful exclusions from the members ([{name, reason}], tally.manifest.EXCLUSION_REASONS)
    # and the peer groups whose excellent ceiling the competent level raised.
    exclusions: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=None)
    outstanding_groups: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # An adoption poll: the poll of the same conference whose counted result it adopts.
    adopts_id: Mapped[int | None] = mapped_column(ForeignKey("poll.id"), default=None)
    # The digest of the unconfirmed rule set the operator acknowledged (an audited step).
    rules_acknowledged: Mapped[str | None] = mapped_column(String(64), default=None)

    conference: Mapped[Conference] = relationship(back_populates="polls")
    adopts: Mapped[Poll | None] = relationship(remote_side="Poll.id", foreign_keys=[adopts_id])
    # A later round (issue 18): the poll whose undetermined subjects this poll votes again
    # (table poll_round, so that the poll table itself is never rebuilt by a migration).
    previous_round: Mapped[Poll | None] = relationship(
        "Poll",
        secondary="poll_round",
        primaryjoin="Poll.id == PollRound.poll_id",
        secondaryjoin="Poll.id == PollRound.previous_id",
        uselist=False,
    )
    subjects: Mapped[list[Subject]] = relationship(
        back_populates="poll", order_by="Subject.position"
    )
    trustees: Mapped[list[Trustee]] = relationship(back_populates="poll", order_by="Trustee.id")


class Subject(Base):
    __tablename__ = "subject"
    __table_args__ = (UniqueConstraint("poll_id", "key"), UniqueConstraint("poll_id", "position"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(20))  # individual | collective | organization
    peer_group: Mapped[str | None] = mapped_column(String(100), default=None)
    heads: Mapped[str | None] = mapped_column(String(100), default=None)
    part_of: Mapped[str | None] = mapped_column(String(100), default=None)
    # Quy định 366: discipline flags (comma-separated, tally.results.DISCIPLINE_FLAGS), the units
    # a leader is responsible for (comma-separated keys), the self-assessment and the proposal.
    discipline: Mapped[str] = mapped_column(String(100), default="")
    responsible_for: Mapped[str] = mapped_column(Text, default="")
    self_score: Mapped[str | None] = mapped_column(String(6), default=None)
    self_grade: Mapped[str | None] = mapped_column(String(20), default=None)
    proposed_grade: Mapped[str | None] = mapped_column(String(20), default=None)

    poll: Mapped[Poll] = relationship(back_populates="subjects")

    def info(self) -> SubjectInfo:
        """The subject as the manifest carries it."""
        return SubjectInfo(
            key=self.key,
            name=self.name,
            kind=self.kind,
            role=self.role,
            peer_group=self.peer_group,
            heads=self.heads,
            part_of=self.part_of,
            responsible_for=tuple(k for k in self.responsible_for.split(",") if k),
            discipline=tuple(f for f in self.discipline.split(",") if f),
            self_score=self.self_score,
            self_grade=self.self_grade,
            proposed_grade=self.proposed_grade,
        )


class Trustee(Base):
    __tablename__ = "trustee"
    __table_args__ = (UniqueConstraint("poll_id", "public_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    public_key: Mapped[str] = mapped_column(String(64))
    public: Mapped[dict[str, object]] = mapped_column(JSON)  # tally-trustee-public/1, proof checked
    post: Mapped[str] = mapped_column(String(500), default="")  # e.g. "Ủy viên Ban Thường vụ"

    poll: Mapped[Poll] = relationship(back_populates="trustees")


class Credential(Base):
    """A public credential. There is no secret column, and there must never be one."""

    __tablename__ = "credential"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    public_key: Mapped[str] = mapped_column(String(64), unique=True)  # lowercase hex
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    # How many ballots this slip has challenged at the booth (bounded): a count, with no time and
    # nothing of the challenged ballots.
    challenges: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PollRound(Base):
    """A later round and the poll it votes again after (one later round per poll)."""

    __tablename__ = "poll_round"

    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), primary_key=True)
    previous_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), unique=True)


class SlipVoid(Base):
    """A slip voided so that its holder votes on paper (docs/protocol.md 13.3): the statement the
    slip's own key signed on the operator's device. No time, no name: the slip has no ballot."""

    __tablename__ = "slip_void"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    credential: Mapped[str] = mapped_column(String(64), unique=True)  # the voided slip's key
    statement: Mapped[str] = mapped_column(Text)  # canonical JSON, tally-void/1


class PaperBallot(Base):
    """A paper ballot the counting committee entered after close (13.3): encrypted under the
    poll's key with a one-time credential, signed by a trustee. No choice and no time; the row
    ids follow the order of entry (the pile's order, not the voters'), which the bundle drops:
    its paper.jsonl is sorted."""

    __tablename__ = "paper_ballot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    credential: Mapped[str] = mapped_column(String(64), unique=True)  # the one-time key
    statement: Mapped[str] = mapped_column(Text)  # canonical JSON, tally-paper-ballot/1


class AttendanceEntry(Base):
    """One change of the number present while the poll is open, hash-chained from the poll's
    fingerprint (tally.attendance). It records neither the ballots cast nor the board head."""

    __tablename__ = "attendance_entry"
    __table_args__ = (UniqueConstraint("poll_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    line: Mapped[str] = mapped_column(Text)  # canonical JSON of the line, with prev and hash


class Ballot(Base):
    """An accepted ballot and its place on the hash-chained board."""

    __tablename__ = "ballot"
    __table_args__ = (
        UniqueConstraint("poll_id", "position"),
        UniqueConstraint("poll_id", "credential"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, … in board order
    credential: Mapped[str] = mapped_column(String(64))  # public key hex
    ballot: Mapped[str] = mapped_column(Text)  # canonical JSON: ciphertexts, proofs, signature
    tracking_hash: Mapped[str] = mapped_column(String(64))
    head: Mapped[str] = mapped_column(String(64))  # board head after this ballot
    # The commitment to its ciphertexts the booth showed before the voter cast (protocol 12.6);
    # derived from the ballot, kept so the public board shows it beside the tracking code.
    commitment: Mapped[str | None] = mapped_column(String(39), nullable=True)
    # No cast time, no address, no browser: nothing that links a moment or a person to a ballot.


class AuditEvent(Base):
    """One operator or system action, hash-chained (``tally.audit``). Never holds a secret.

    ``chain`` is the poll's id for actions on a poll, 0 for the others (logins, accounts,
    conferences); ``seq`` counts 1, 2, … within a chain.
    """

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("chain", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain: Mapped[int] = mapped_column(Integer, default=0)
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class AuditHead(Base):
    """The newest entry of each audit chain, written in the same transaction as the entry: a
    deleted last entry no longer matches it (``ballot check``)."""

    __tablename__ = "audit_head"

    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class ChallengedCiphertext(Base):
    """The hash of one ciphertext's ``a`` of a ballot the voter challenged at the booth (its seed,
    and so its randomness and choices, revealed to the voter alone). A ballot that reuses any of
    them (the same ``a = r·G``, so the same revealed randomness) is never cast, however its proofs
    or signature were redone. Only SHA-256 of ``a`` is kept: no credential, no time, no choice."""

    __tablename__ = "challenged_a"
    __table_args__ = (UniqueConstraint("poll_id", "a_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    a_hash: Mapped[str] = mapped_column(String(64))


class PollCount(Base):
    """A closed poll's count: the published aggregate, then the finished audit bundle."""

    __tablename__ = "poll_count"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), unique=True)
    aggregate: Mapped[str] = mapped_column(Text)  # canonical JSON, tally-aggregate/1
    # The reconciliation of the slips, given by the counting committee at finish.
    handed_out: Mapped[int | None] = mapped_column(Integer, default=None)
    lost: Mapped[int | None] = mapped_column(Integer, default=None)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    bundle: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # the audit ZIP
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class CountShare(Base):
    """One trustee's checked partial decryption of the aggregate (public: d values and proofs)."""

    __tablename__ = "count_share"
    __table_args__ = (UniqueConstraint("poll_id", "trustee_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    trustee_id: Mapped[int] = mapped_column(ForeignKey("trustee.id"))
    share: Mapped[str] = mapped_column(Text)  # canonical JSON, tally-share/1
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Operator(Base):
    """A member of the Organization Board who runs conferences. Only a password hash is stored."""

    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OperatorSession(Base):
    """A logged-in operator's session, held on the server: the cookie carries a random token, the
    table its SHA-256. Logout and a password change delete rows; a row past ``expires`` (Unix
    seconds) is not honoured. No last-seen time is kept: nothing here follows the hall's day."""

    __tablename__ = "operator_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"), index=True)
    expires: Mapped[int] = mapped_column(Integer)


CEREMONY_STATES = ("dealing", "checking", "done", "failed")


class KeyCeremony(Base):
    """A conference's key ceremony (k of n, docs/protocol.md 9.4): the trustees and threshold
    fixed at its start, then the signed dealings and checks as they come in. Only public or
    encrypted material: the server relays and checks, it never holds a trustee's secret."""

    __tablename__ = "key_ceremony"
    __table_args__ = (
        CheckConstraint(
            "state IN ('dealing', 'checking', 'done', 'failed')", name="ck_key_ceremony_state"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conference.id"), unique=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    threshold: Mapped[int] = mapped_column(Integer)
    trustees: Mapped[str] = mapped_column(Text)  # canonical JSON list of tally-trustee-public/2
    dealings: Mapped[str] = mapped_column(
        Text
    )  # canonical JSON list: a dealing or null per trustee
    checks: Mapped[str] = mapped_column(Text)  # canonical JSON list: a check or null per trustee
    state: Mapped[str] = mapped_column(String(10), default="dealing")
    failure: Mapped[str | None] = mapped_column(Text, default=None)  # why it ended without a key
