"""The verifier processes of ``ballot serve`` (issue 19): a ballot verified in a verifier process
gives exactly what the serving thread would have found itself, a bad ballot the same BallotError,
and the pool stops cleanly. (``ballot serve`` runs with them by default: every test that starts a
real server casts through them.)"""

from __future__ import annotations

import copy
import os

import pytest

from ballot.services import verifier
from tally.ballots import BallotError, PollContext, encrypt_ballot, verify_ballot
from tally.credentials import Credential
from tally.group import base_mul, random_scalar


def test_a_verifier_process_answers_as_the_thread_would() -> None:
    ctx = PollContext(os.urandom(32), base_mul(random_scalar()), 3, 4, True)
    ballot = encrypt_ballot(ctx, Credential.generate(), [0, 3, None])
    bad = copy.deepcopy(ballot)
    bad["answers"][1]["choices"][0]["a"], bad["answers"][1]["choices"][1]["a"] = (
        bad["answers"][1]["choices"][1]["a"],
        bad["answers"][1]["choices"][0]["a"],
    )
    inline = verify_ballot(ctx, ballot)
    with pytest.raises(BallotError) as here:
        verify_ballot(ctx, bad)
    verifier.start(1)
    try:
        assert verifier.running()
        there = verifier.verify(ctx, ballot)
        assert there == inline
        with pytest.raises(BallotError) as far:
            verifier.verify(ctx, bad)
        assert str(far.value) == str(here.value)
    finally:
        verifier.stop()
    assert not verifier.running()
    assert verifier.verify(ctx, ballot) == inline  # without the pool: in this thread
