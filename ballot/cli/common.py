"""What every command shares: who ran it (for the audit log), and a refusal as the CLI shows it."""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from ballot import db
from ballot.services.errors import ServiceError
from ballot.services.fields import KIND_NAMES, Field
from tally.rules import list_rulesets

F = TypeVar("F", bound=Callable[..., Any])


def actor() -> str:
    """Who ran the command, for the audit log: the OS account."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def options(*decorators: Callable[[Any], Any]) -> Callable[[F], F]:
    """Several click options as one decorator, applied in the order given (top first)."""

    def decorate(f: F) -> F:
        for option in reversed(decorators):
            f = option(f)
        return f

    return decorate


class IsoDate(click.ParamType[dt.date]):
    """A date written YYYY-MM-DD, as the forms and the conference file take it."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r}: cần một ngày / expected a date (YYYY-MM-DD)", param, ctx)


def field_option(field: Field, *, required: bool) -> Callable[[F], F]:
    """The option of a declared field (ballot.services.fields): ``--peer-group``, its type and
    its bilingual help."""
    help_text = f"{field.vi.lower()} / {field.en.lower()}"
    if field.type == "bool":
        return click.option(
            f"{field.option}/--not-{field.option[2:]}", field.name, default=None, help=help_text
        )
    kinds: dict[str, Any] = {
        "count": int,
        "date": IsoDate(),
        "kind": click.Choice(list(KIND_NAMES)),
        "rules": click.Choice(list_rulesets()),
    }
    if field.type in ("key", "ref", "score", "grade") and not required:
        help_text += " ('' để bỏ / to clear)"
    if field.type in ("flags", "refs"):
        help_text += " (cách nhau bởi dấu phẩy, '' để bỏ / comma-separated, '' to clear)"
    return click.option(
        field.option,
        field.name,
        type=kinds.get(field.type, str),
        required=required and field.required,
        help=help_text,
    )


def field_options(
    fields: tuple[Field, ...],
    *,
    required: bool,
    skip: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
) -> Callable[[F], F]:
    """One option per declared field, required where the field is (when ``required``), except
    those in ``optional`` (defaulted by the service) and ``skip`` (an argument instead)."""
    return options(
        *(
            field_option(f, required=required and f.name not in optional)
            for f in fields
            if f.name not in skip
        )
    )


@contextmanager
def step() -> Iterator[Session]:
    """One command's transaction: a refusal is printed in both languages and exits with status 1,
    and nothing is stored."""
    try:
        with db.transaction() as session:
            yield session
    except ServiceError as exc:
        raise fail(exc) from None
