"""``ballot credentials import``: the credential authority's signed list, for a draft poll.

The Organization Board mints the slips offline with ``tally credentials mint`` (never on the
server) and brings only ``credentials.json``, the public keys signed by its authority key.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ballot.cli.common import actor, fail, step
from ballot.services.credentials import import_credentials, parse_list_file
from ballot.services.errors import ServiceError


@click.group("credentials")
def credentials_group() -> None:
    """Thẻ biểu quyết / credentials."""


@credentials_group.command("import")
@click.argument("poll", type=int)
@click.argument("listfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def credentials_import(poll: int, listfile: Path) -> None:
    """Nhập danh sách của Ban Tổ chức / import the authority's credential list."""
    try:
        document = parse_list_file(listfile.read_bytes())
    except (OSError, ServiceError) as exc:
        raise fail(exc) from None
    with step() as session:
        listed = import_credentials(session, poll, document, actor=actor())
    click.echo(
        f"Đã nhập {listed.count} phiếu và {listed.reserve} thẻ dự phòng / imported"
        f" {listed.count} slips and {listed.reserve} reserve for poll {poll}"
    )
    click.echo(
        f"Dấu vân tay khóa Ban Tổ chức / authority key fingerprint: {listed.fingerprint}"
        " (đối chiếu với dấu vân tay đã công bố / compare with the announced one)"
    )
