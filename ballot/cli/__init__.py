"""The ``ballot`` command line: every operator action as a command (Flask's CLI), one module per
command group. Errors are printed in Vietnamese and English and exit with status 1; nothing is
half-written. The CLI calls ``ballot.services`` and never imports ``ballot.web``.
"""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup


def init_app(app: Flask) -> None:
    from ballot.cli import (
        ceremony,
        checks,
        conferences,
        counting,
        credentials,
        demo,
        operators,
        paper,
        polls,
        server,
        subjects,
        trustees,
    )

    for command in (
        server.init_command,
        operators.operator_group,
        conferences.conference_group,
        conferences.review_group,
        trustees.trustee_group,
        ceremony.ceremony_group,
        credentials.credentials_group,
        polls.poll_group,
        subjects.subject_group,
        counting.count_group,
        paper.paper_group,
        counting.export_command,
        server.serve_command,
        demo.demo_command,
        checks.check_command,
        checks.audit_command,
    ):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from ballot import create_app

    return create_app()


def main() -> None:
    FlaskGroup(create_app=_create_app, help="Dịch vụ biểu quyết / the ballot service.")(
        prog_name="ballot"
    )
