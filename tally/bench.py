"""``tally bench``: figures for one 15-subject x 4-grade ballot and for whole polls.

Prints per-ballot encrypt+prove and verify times (medians), the ballot size, and for polls of 60
and 500 ballots the time to count (aggregate, every trustee's share with proofs, combine, grade,
sign) and the time of ``tally verify`` on the bundle. With an ElectionGuard 1.4 interpreter
(bench/setup-electionguard.sh makes one in .venv-eg), the same per-ballot figures for it, measured
interleaved with tally's (one ballot of each in turn, in one run) and given as ratios of medians.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from random import Random
from typing import Any

from tally.ballots import PollContext, encrypt_ballot, verify_ballot
from tally.bundle import bundle_bytes
from tally.canonical import canonical_json
from tally.credentials import Credential
from tally.demo import run_demo
from tally.group import base_mul, random_scalar
from tally.verify import verify_bundle

EG_SCRIPT = Path("bench/electionguard_bench.py")
EG_PYTHON = Path(".venv-eg/bin/python")


def _tally_round(ctx: PollContext, rng: Random) -> tuple[float, float, int]:
    credential = Credential.generate()
    choices = [rng.randrange(ctx.grades) for _ in range(ctx.subjects)]
    t0 = time.perf_counter()
    ballot = encrypt_ballot(ctx, credential, choices)
    t1 = time.perf_counter()
    verify_ballot(ctx, ballot)
    t2 = time.perf_counter()
    return (t1 - t0) * 1000, (t2 - t1) * 1000, len(canonical_json(ballot))


def ballot_figures(subjects: int, grades: int, repeat: int) -> dict[str, Any]:
    ctx = PollContext(os.urandom(32), base_mul(random_scalar()), subjects, grades, True)
    rng = Random(1)
    # The first round warms caches and is not counted.
    rounds = [_tally_round(ctx, rng) for _ in range(repeat + 1)][1:]
    return {
        "encrypt_ms": round(statistics.median(r[0] for r in rounds), 1),
        "verify_ms": round(statistics.median(r[1] for r in rounds), 1),
        "ballot_bytes": rounds[-1][2],
    }


def poll_figures(subjects: int, ballots: int, trustees: int) -> dict[str, Any]:
    demo = run_demo(subjects=subjects, voters=ballots, trustees=trustees, seed=ballots)
    data = bundle_bytes(demo.files)
    t0 = time.perf_counter()
    report = verify_bundle(data)
    verify_s = time.perf_counter() - t0
    if not report.ok:
        raise RuntimeError("the benchmark bundle did not verify")
    return {
        "ballots": ballots,
        "count_s": round(demo.seconds["count"], 2),
        "verify_s": round(verify_s, 2),
        "bundle_bytes": len(data),
    }


def interleaved(python: Path, subjects: int, grades: int, rounds: int) -> dict[str, Any]:
    """tally and ElectionGuard one ballot each in turn, ``rounds`` times, in one run: the ratio of
    the medians, both sides measured under the same load (the machine's noise cancels)."""
    ctx = PollContext(os.urandom(32), base_mul(random_scalar()), subjects, grades, True)
    rng = Random(1)
    _tally_round(ctx, rng)  # warm-up (ElectionGuard warms up before its ready line)
    command = [
        str(python),
        str(EG_SCRIPT),
        "--subjects",
        str(subjects),
        "--grades",
        str(grades),
        "--interleave",
    ]
    ours: list[tuple[float, float, int]] = []
    theirs: list[dict[str, Any]] = []
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as eg:
        assert eg.stdin is not None and eg.stdout is not None
        ready = json.loads(eg.stdout.readline() or "{}")
        if not ready.get("ready"):
            raise RuntimeError("ElectionGuard did not start")
        for _ in range(rounds):
            ours.append(_tally_round(ctx, rng))
            eg.stdin.write("round\n")
            eg.stdin.flush()
            theirs.append(json.loads(eg.stdout.readline()))
        eg.stdin.write("end\n")
        eg.stdin.close()
        eg.wait(timeout=60)
    mine = {
        "encrypt_ms": round(statistics.median(r[0] for r in ours), 1),
        "verify_ms": round(statistics.median(r[1] for r in ours), 1),
        "ballot_bytes": int(statistics.median_low(r[2] for r in ours)),
    }
    eg_figures = {
        "version": ready.get("version", "?"),
        "encrypt_ms": round(statistics.median(r["encrypt_ms"] for r in theirs), 1),
        "verify_ms": round(statistics.median(r["verify_ms"] for r in theirs), 1),
        "ballot_bytes": int(statistics.median_low(r["ballot_bytes"] for r in theirs)),
    }
    return {"rounds": rounds, "tally": mine, "electionguard": eg_figures}


def electionguard_figures(python: Path, subjects: int, grades: int, repeat: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            str(python),
            str(EG_SCRIPT),
            "--subjects",
            str(subjects),
            "--grades",
            str(grades),
            "--ballots",
            "0",
            "--repeat",
            str(repeat),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def run(
    *,
    subjects: int = 15,
    grades: int = 4,
    repeat: int = 20,
    sizes: Sequence[int] = (60, 500),
    trustees: int = 3,
    electionguard: Path | None = None,
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "subjects": subjects,
        "grades": grades,
        "cores": os.cpu_count(),
        "tally": ballot_figures(subjects, grades, repeat),
        "polls": [poll_figures(subjects, n, trustees) for n in sizes],
    }
    python = electionguard or (EG_PYTHON if EG_PYTHON.exists() else None)
    if python is not None and EG_SCRIPT.exists():
        # Interleaved: one tally ballot, one ElectionGuard ballot, and again; ratios of medians.
        side = interleaved(python, subjects, grades, min(repeat, 10))
        ours, eg = side["tally"], side["electionguard"]
        figures["electionguard"] = {"rounds": side["rounds"], "tally": ours, **eg}
        figures["ratios"] = {
            k: round(eg[k] / ours[k], 1) for k in ("encrypt_ms", "verify_ms", "ballot_bytes")
        }
    return figures


def format_figures(f: dict[str, Any]) -> str:
    t = f["tally"]
    lines = [
        f"Phiếu {f['subjects']} đối tượng x {f['grades']} mức / ballot of {f['subjects']} subjects"
        f" x {f['grades']} grades ({f['cores']} cores)",
        f"  mã hóa + chứng minh / encrypt + prove : {t['encrypt_ms']:8.1f} ms",
        f"  kiểm tra / verify                      : {t['verify_ms']:8.1f} ms",
        f"  kích thước / size                      : {t['ballot_bytes']:8d} bytes",
    ]
    for p in f["polls"]:
        lines.append(
            f"  {p['ballots']:4d} phiếu / ballots: kiểm phiếu / count {p['count_s']:6.2f} s,"
            f" tally verify {p['verify_s']:6.2f} s, bundle {p['bundle_bytes']} bytes"
        )
    if "electionguard" in f:
        eg, r = f["electionguard"], f["ratios"]
        ours = eg["tally"]
        lines += [
            f"ElectionGuard {eg['version']} (same ballot / cùng phiếu), interleaved with tally"
            f" ({eg['rounds']} rounds, one ballot each in turn; tally in those rounds: encrypt"
            f" {ours['encrypt_ms']} ms, verify {ours['verify_ms']} ms):",
            f"  encrypt + prove {eg['encrypt_ms']:8.1f} ms  ({r['encrypt_ms']}x slower than tally)",
            f"  verify          {eg['verify_ms']:8.1f} ms  ({r['verify_ms']}x slower than tally)",
            f"  size            {eg['ballot_bytes']:8d} bytes ({r['ballot_bytes']}x larger)",
        ]
    else:
        lines.append(
            "ElectionGuard: not measured (run bench/setup-electionguard.sh, then tally bench)"
        )
    return "\n".join(lines)
