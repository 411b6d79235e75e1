"""The `tally` command as a user runs it: exit codes, files written, messages."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest

from tally.cli import main
from tally.demo import run_demo

PASSPHRASE = "mật khẩu đủ dài 2023"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_grade_worked_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "grade", "--rules", "qd124-2023", "--counts", "10,20,13,2")
    assert (code, out.strip()) == (0, "HTTNV")
    assert "Hoàn thành tốt nhiệm vụ" in err


def test_grade_undetermined_and_json_steps(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["grade", "--counts", "5,5,5,5", "--denominator", "members", "--members", "60"]
    code, out, _ = run(capsys, *argv)
    assert (code, out.strip()) == (0, "UNDETERMINED")
    code, out, _ = run(capsys, *argv, "--json")
    data = json.loads(out)
    assert data["grade"] is None and data["denominator_value"] == 60
    assert [s["running_total"] for s in data["steps"] if s["stage"] == "cumulative"] == [
        5,
        10,
        15,
        20,
    ]


def test_grade_bad_input_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "grade", "--counts", "10,20,13")
    assert code == 2
    assert "lỗi / error" in err and "expected 4 numbers" in err
    code, _, err = run(capsys, "grade", "--rules", "no-such-rules", "--counts", "1,1,1,1")
    assert code == 2 and "qd124-2023" in err


def test_demo_election_verifies_and_counts_match_the_choices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "b.zip"
    assert (
        run(capsys, "demo-election", "--subjects", "3", "--voters", "7", "--out", str(bundle))[0]
        == 0
    )
    code, out, _ = run(capsys, "verify", str(bundle))
    assert code == 0 and "VERDICT: the bundle verifies" in out
    code, out, _ = run(capsys, "verify", "--json", str(bundle))
    report = json.loads(out)
    assert report["ok"] is True and all(c["ok"] for c in report["checks"])


def test_record_counts_equal_the_cast_choices() -> None:
    demo = run_demo(subjects=3, voters=9, trustees=2, seed=5)
    record = json.loads(demo.files["record.json"])
    for i, subject in enumerate(record["subjects"]):
        cast = [row[i] for row in demo.choices]
        assert subject["counts"] == [cast.count(g) for g in range(4)]
        assert subject["blank"] == cast.count(None)
    assert record["ballots_cast"] == 9 and record["credentials"]["used"] == 9


def test_verify_tampered_bundle_exits_1_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = run_demo(subjects=2, voters=3, trustees=1, seed=1)
    tampered = dict(demo.files)
    tally_doc = json.loads(tampered["tally.json"])
    tally_doc["counts"][0][0] += 1
    tampered["tally.json"] = json.dumps(tally_doc).encode()
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in tampered.items():
            zf.writestr(name, data)
    code, out, _ = run(capsys, "verify", str(path))
    assert code == 1
    assert "LỖI / FAIL" in out and "tally.json" in out and "does NOT verify" in out


def test_verify_missing_file_and_non_zip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "verify", str(tmp_path / "none.zip"))[0] == 2
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    code, out, _ = run(capsys, "verify", str(junk))
    assert code == 1 and "bundle.members" in out


def test_trustee_keygen_and_decrypt_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tally.counting import board_aggregate, load_jsonl
    from tally.demo import demo_credentials
    from tally.manifest import make_manifest, parse_manifest
    from tally.results import SubjectInfo
    from tally.rules import load_ruleset
    from tally.trustees import TrusteePublic, verify_share

    monkeypatch.setenv("TALLY_PASSPHRASE", PASSPHRASE)
    key_path = tmp_path / "t1.key"
    code, out, _ = run(capsys, "trustee", "keygen", "--out", str(key_path), "--name", "Trần Thị B")
    assert code == 0
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    public = TrusteePublic.from_json(json.loads((tmp_path / "t1.key.pub.json").read_text()))
    assert public.name == "Trần Thị B" and public.public_key.hex() in out
    # Refuses to overwrite an existing key.
    assert run(capsys, "trustee", "keygen", "--out", str(key_path))[0] == 2

    uid, credential_list, _ = demo_credentials(1)
    manifest_data = make_manifest(
        poll_id="p",
        poll_uid=uid,
        title="t",
        conference={},
        subjects=[SubjectInfo(key="s", name="Đảng bộ tỉnh", kind="organization")],
        rules=load_ruleset("qd124-2023"),
        trustees=[public],
        credential_list=credential_list,
        members=3,
        signer_public_key=bytes(32),
    )
    manifest = parse_manifest(manifest_data)
    aggregate = board_aggregate(manifest, [])
    (tmp_path / "manifest.json").write_text(json.dumps(manifest_data))
    (tmp_path / "ballots.jsonl").write_text("")
    (tmp_path / "agg.json").write_text(json.dumps(aggregate))
    share_path = tmp_path / "share.json"
    code, out, _ = run(
        capsys,
        "trustee",
        "decrypt",
        "--key",
        str(key_path),
        "--aggregate",
        str(tmp_path / "agg.json"),
        "--manifest",
        str(tmp_path / "manifest.json"),
        "--ballots",
        str(tmp_path / "ballots.jsonl"),
        "--expected-head",
        aggregate["board_head"],
        "--out",
        str(share_path),
    )
    assert code == 0 and "matches the board" in out
    assert verify_share(aggregate, public, json.loads(share_path.read_text()))
    assert load_jsonl(b"") == []

    # An aggregate that does not match the board is refused before any decryption.
    aggregate["ballot_count"] = 1
    (tmp_path / "agg.json").write_text(json.dumps(aggregate))
    code, _, err = run(
        capsys,
        "trustee",
        "decrypt",
        "--key",
        str(key_path),
        "--aggregate",
        str(tmp_path / "agg.json"),
        "--manifest",
        str(tmp_path / "manifest.json"),
        "--ballots",
        str(tmp_path / "ballots.jsonl"),
        "--expected-head",
        aggregate["board_head"],
        "--out",
        str(tmp_path / "share2.json"),
    )
    assert code == 2 and "DOES NOT MATCH THE BOARD" in err
    assert not (tmp_path / "share2.json").exists()

    # A head other than the one published at close is refused.
    aggregate["ballot_count"] = 0
    (tmp_path / "agg.json").write_text(json.dumps(aggregate))
    board = [
        "--manifest",
        str(tmp_path / "manifest.json"),
        "--ballots",
        str(tmp_path / "ballots.jsonl"),
    ]
    decrypt = [
        "trustee",
        "decrypt",
        "--key",
        str(key_path),
        "--aggregate",
        str(tmp_path / "agg.json"),
    ]
    code, _, err = run(capsys, *decrypt, *board, "--expected-head", "00" * 32, "--out", "x.json")
    assert code == 2 and "published head" in err

    # A wrong passphrase is a clear error, not a traceback.
    monkeypatch.setenv("TALLY_PASSPHRASE", "sai mật khẩu rồi")
    head = ["--expected-head", aggregate["board_head"]]
    code, _, err = run(capsys, *decrypt, *board, *head, "--out", str(tmp_path / "share3.json"))
    assert code == 2 and "wrong passphrase" in err
    assert not (tmp_path / "share3.json").exists()


def test_keygen_refuses_a_short_passphrase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALLY_PASSPHRASE", "ngắn")
    code, _, err = run(capsys, "trustee", "keygen", "--out", str(tmp_path / "k"))
    assert code == 2 and "at least" in err
    assert not (tmp_path / "k").exists()


DATA = Path(__file__).resolve().parent / "data"


def test_verify_a_version_1_bundle_pinned_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    signer = "4153e89538041f47f2bbfa80de8c217a7773a8251073a118f73add5bfe9007b0"
    code, out, _ = run(
        capsys, "verify", str(DATA / "bundle-v1.zip"), "--signer-key", signer, "--json"
    )
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    [grades] = [c for c in report["checks"] if c["name"] == "result.grades"]
    assert "protocol version 1" in grades["detail"]


def test_verify_an_upper_case_signature_exits_1_naming_record_sig(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with zipfile.ZipFile(DATA / "bundle-v1.zip") as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    files["record.sig"] = files["record.sig"].upper()
    path = tmp_path / "upper.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    code, out, _ = run(capsys, "verify", str(path))
    assert code == 1
    assert "record.signature" in out
    assert "record.sig: not exactly 128 lowercase hex digits and one newline" in out


def test_demo_election_writes_protocol_version_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "demo.zip"
    code, _, _ = run(
        capsys, "demo-election", "--subjects", "2", "--voters", "3", "--out", str(out_path)
    )
    assert code == 0
    with zipfile.ZipFile(out_path) as zf:
        result, record = json.loads(zf.read("result.json")), json.loads(zf.read("record.json"))
    assert (result["format"], record["format"]) == ("tally-result/2", "tally-record/2")
    assert not any("message_vi" in w or "message_en" in w for w in result["warnings"])
    code, out, _ = run(capsys, "verify", str(out_path))
    assert code == 0 and "protocol version 2" in out


def test_the_key_ceremony_on_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three trustees deal and check with ``tally trustee deal`` and ``check`` (9.4): the
    transcript gives a key; a trustee outside the ceremony, a missing dealing and a changed
    ceremony file are clear refusals that write nothing."""
    from tally.dkg import CEREMONY_FORMAT, evaluate, parse_ceremony

    monkeypatch.setenv("TALLY_PASSPHRASE", "mat-khau-thu-nghiem-dai")
    for m in (1, 2, 3, 4):
        code, _, err = run(
            capsys,
            "trustee",
            "keygen",
            "--out",
            str(tmp_path / f"t{m}.key"),
            "--name",
            f"Thành viên {m}",
        )
        assert code == 0, err
    publics = [json.loads((tmp_path / f"t{m}.key.pub.json").read_text()) for m in (1, 2, 3)]
    ceremony = {"format": CEREMONY_FORMAT, "uid": "ab" * 16, "threshold": 2, "trustees": publics}
    path = tmp_path / "ceremony.json"
    path.write_text(json.dumps(ceremony, ensure_ascii=False))
    for m in (1, 2, 3):
        code, out, err = run(
            capsys, "trustee", "deal", "--key", str(tmp_path / f"t{m}.key"),
            "--ceremony", str(path), "--out", str(tmp_path / f"d{m}.json"),
        )  # fmt: skip
        assert code == 0, err
        assert "2 trong 3" in out and "any 2 of 3 trustees count" in out
    dealings = [json.loads((tmp_path / f"d{m}.json").read_text()) for m in (1, 2, 3)]
    (tmp_path / "dealings.json").write_text(json.dumps(dealings))
    for m in (1, 2, 3):
        code, out, err = run(
            capsys, "trustee", "check", "--key", str(tmp_path / f"t{m}.key"),
            "--ceremony", str(path), "--dealings", str(tmp_path / "dealings.json"),
            "--out", str(tmp_path / f"c{m}.json"),
        )  # fmt: skip
        assert code == 0, err
        assert "every share received is right" in out
    checks = [json.loads((tmp_path / f"c{m}.json").read_text()) for m in (1, 2, 3)]
    outcome = evaluate(parse_ceremony(ceremony), dealings, checks)
    assert outcome.qualified == (1, 2, 3)
    # Refusals: the 4th key is no trustee; two dealings only; a trustee renamed in the file.
    code, _, err = run(
        capsys, "trustee", "deal", "--key", str(tmp_path / "t4.key"), "--ceremony", str(path),
        "--out", str(tmp_path / "d4.json"),
    )  # fmt: skip
    assert code == 2 and "not a trustee of this ceremony" in err and "không tạo được" in err
    assert not (tmp_path / "d4.json").exists()
    (tmp_path / "two.json").write_text(json.dumps(dealings[:2]))
    code, _, err = run(
        capsys, "trustee", "check", "--key", str(tmp_path / "t1.key"), "--ceremony", str(path),
        "--dealings", str(tmp_path / "two.json"), "--out", str(tmp_path / "c9.json"),
    )  # fmt: skip
    assert code == 2 and "expected the n = 3 dealings" in err
    assert not (tmp_path / "c9.json").exists()
    renamed = json.loads(json.dumps(ceremony))
    renamed["trustees"][1]["name"] = "Người khác"
    path.write_text(json.dumps(renamed, ensure_ascii=False))
    code, _, err = run(
        capsys, "trustee", "deal", "--key", str(tmp_path / "t1.key"), "--ceremony", str(path),
        "--out", str(tmp_path / "d9.json"),
    )  # fmt: skip
    assert code == 2 and "proof of knowledge of the key does not verify" in err


def test_demo_election_three_of_five(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "b.zip"
    code, _, err = run(
        capsys, "demo-election", "--trustees", "5", "--threshold", "3", "--absent", "2",
        "--voters", "6", "--subjects", "2", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    code, text, err = run(capsys, "verify", str(out))
    assert code == 0, err
    assert "key ceremony 3 of 5" in text and "3 combined (Lagrange)" in text
    missing = tmp_path / "c.zip"
    code, _, err = run(
        capsys, "demo-election", "--trustees", "5", "--threshold", "3", "--absent", "3",
        "--voters", "6", "--subjects", "2", "--out", str(missing),
    )  # fmt: skip
    assert code == 2 and "too few trustees took part in counting" in err
    assert "không kiểm phiếu được" in err and not missing.exists()
