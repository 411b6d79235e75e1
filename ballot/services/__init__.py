"""The service layer: every operation of the conference service, shared by the web and the CLI.

One module per subject: ``conferences``, ``polls`` (create, edit, open, close), ``subjects``,
``trustees``, ``credentials``, ``operators``, ``casting``, ``challenges``, ``counting``,
``audit`` (the hash-chained log), ``check`` (the tamper check), ``conference_file`` (TOML
import), ``slips`` (printable slips); ``fields`` declares each field once, ``errors`` the refusals.

Each function runs in the caller's transaction, writes its audit event and raises
:class:`~ballot.services.errors.ServiceError` with a bilingual message when a step is not
allowed. Services import ``tally`` and the database layer, never ``ballot.web`` or ``ballot.cli``.
"""
