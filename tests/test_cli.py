"""``fastml leakage``: exit status, summary, JSON, readers, progress bar."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from fastml import cli
from fastml.cli import Progress, main

pd = pytest.importorskip("pandas")


@pytest.fixture
def files(tmp_path):
    pd.DataFrame({"Patient ID": ["P1", "P2", "P3", None], "x": 1}).to_csv(
        tmp_path / "train.csv", index=False)
    pd.DataFrame({"Patient ID": ["P7", "P8"]}).to_csv(tmp_path / "val.csv.gz", index=False)
    pd.DataFrame({"Patient ID": ["P3", "P9", "P3"], "y": 2.0}).to_csv(
        tmp_path / "test.tsv", sep="\t", index=False)
    return tmp_path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_leak_found_exit_1(files, capsys):
    code, out, err = run(capsys, "leakage", files / "train.csv", files / "val.csv.gz",
                         files / "test.tsv", "--id-col", "Patient ID")
    assert code == 1
    assert "LEAKAGE: 1 of 3 pairs" in out
    assert "train.csv / test.tsv shared IDs: 'P3'" in out
    assert "missing IDs" in out


def test_no_leak_exit_0_json(files, capsys):
    code, out, err = run(capsys, "leakage", files / "train.csv", files / "val.csv.gz",
                         "--id-col", "Patient ID", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["leakage"] is False and data["id_col"] == "Patient ID"
    assert data["splits"]["train.csv"] == {"rows": 4, "missing": 1}
    assert data["pairs"][0]["n_shared_ids"] == 0


def test_json_lists_ids(files, capsys):
    code, out, _ = run(capsys, "leakage", files / "train.csv", files / "test.tsv", "--id-col",
                       "Patient ID", "--json")
    data = json.loads(out)
    assert code == 1 and data["pairs"][0]["shared_ids"] == ["P3"]
    assert data["pairs"][0]["right_rows_affected"] == 2


def test_parquet(files, capsys):
    pytest.importorskip("pyarrow")
    pd.DataFrame({"Patient ID": ["P2", "P5"]}).to_parquet(files / "extra.parquet")
    code, out, _ = run(capsys, "leakage", files / "train.csv", files / "extra.parquet",
                       "--id-col", "Patient ID")
    assert code == 1 and "'P2'" in out
    code, _, err = run(capsys, "leakage", files / "train.csv", files / "extra.parquet",
                       "--id-col", "nope")
    assert code == 2 and "no column 'nope'" in err


def test_parquet_without_pyarrow(files, capsys, monkeypatch):
    (files / "x.parquet").write_bytes(b"PAR1....")
    real = cli.find_spec
    monkeypatch.setattr(cli, "find_spec", lambda name: None if name == "pyarrow" else real(name))
    code, _, err = run(capsys, "leakage", files / "train.csv", files / "x.parquet", "--id-col",
                       "Patient ID")
    assert code == 2 and "needs pyarrow" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["leakage", "{d}/train.csv", "--id-col", "Patient ID"], "at least two files"),
        (["leakage", "{d}/train.csv", "{d}/test.tsv", "--id-col", "Nope"], "no column 'Nope'"),
        (["leakage", "{d}/train.csv", "{d}/gone.csv", "--id-col", "Patient ID"], "no such file"),
        (["leakage", "{d}/train.csv", "{d}/bad.parquet", "--id-col", "Patient ID"],
         "not a readable Parquet file"),
        (["leakage", "{d}/train.csv", "{d}/test.tsv"], "--id-col"),
        (["leakage"], "required"),
        ([], "leakage"),
    ],
)
def test_bad_input_exit_2(files, capsys, argv, message):
    pytest.importorskip("pyarrow")
    (files / "bad.parquet").write_text("not parquet")
    code, out, err = run(capsys, *[a.format(d=files) for a in argv])
    assert code == 2
    assert message in err


def test_numbers_and_as_string(tmp_path, capsys):
    (tmp_path / "a.csv").write_text("id\n007\n12\n")
    (tmp_path / "b.csv").write_text("id\n7\n13\n")
    code, out, _ = run(capsys, "leakage", tmp_path / "a.csv", tmp_path / "b.csv", "--id-col",
                       "id")
    assert code == 1  # parsed as numbers: 007 == 7
    code, out, _ = run(capsys, "leakage", tmp_path / "a.csv", tmp_path / "b.csv", "--id-col",
                       "id", "--as-string")
    assert code == 0
    (tmp_path / "c.csv").write_text("id\nx7\n")
    code, out, err = run(capsys, "leakage", tmp_path / "a.csv", tmp_path / "c.csv", "--id-col",
                         "id")
    assert code == 0  # a text ID in one CSV file: every CSV ID is text, "007" is not "7"
    pytest.importorskip("pyarrow")
    pd.DataFrame({"id": [7, 8]}).to_parquet(tmp_path / "n.parquet")
    code, out, err = run(capsys, "leakage", tmp_path / "n.parquet", tmp_path / "c.csv",
                         "--id-col", "id")
    assert code == 0 and "numbers never equal text" in err


def test_same_file_names_use_paths(tmp_path, capsys):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    for d in ("one", "two"):
        (tmp_path / d / "ids.csv").write_text("id\n1\n")
    code, out, _ = run(capsys, "leakage", tmp_path / "one/ids.csv", tmp_path / "two/ids.csv",
                       "--id-col", "id", "--json")
    assert code == 1 and str(tmp_path / "one/ids.csv") in json.loads(out)["splits"]


def test_python_dash_m(files):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", "fastml", "leakage", "train.csv", "test.tsv", "--id-col",
         "Patient ID", "--json"],
        cwd=files, capture_output=True, text=True, env=env,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["leakage"] is True


def test_progress_shown_after_threshold(files, capsys):
    code, out, err = run(capsys, "leakage", files / "train.csv", files / "test.tsv",
                         "--id-col", "Patient ID", "--progress-after", "0")
    assert code == 1
    assert "reading" in err and "100%" in err


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_redraws_on_a_terminal():
    stream = _Tty()
    with Progress("reading x", after=0.0, stream=stream, interval=0.01) as bar:
        for k in range(5):
            bar.update(k / 5, f"{k}/5")
            import time

            time.sleep(0.02)
    text = stream.getvalue()
    assert text.count("\r") >= 2 and "[" in text and text.endswith("\n")
    assert "100%" in text.splitlines()[-1]


def test_progress_silent_for_quick_work():
    stream = _Tty()
    with Progress("reading x", after=5.0, stream=stream):
        pass
    assert stream.getvalue() == ""


# ------------------------------------------------------------ gate soundness and errors


def one_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1


def test_same_file_twice_is_two_splits(tmp_path, capsys):
    (tmp_path / "a.csv").write_text("id\n1\n2\n\n")
    code, out, err = run(capsys, "leakage", tmp_path / "a.csv", tmp_path / "a.csv", "--id-col",
                         "id", "--json")
    data = json.loads(out)
    assert code == 1 and data["leakage"] is True
    assert list(data["splits"]) == ["a.csv", "a.csv (2)"]
    assert data["pairs"][0]["shared_ids"] == [1, 2]
    assert "more than once" in err
    code, out, _ = run(capsys, "leakage", tmp_path / "a.csv", tmp_path / "a.csv", tmp_path /
                       "a.csv", "--id-col", "id")
    assert code == 1 and "LEAKAGE: 3 of 3 pairs" in out


def test_split_names_unique():
    assert cli._split_names(["x/a.csv", "y/b.csv"]) == ["a.csv", "b.csv"]
    assert cli._split_names(["x/a.csv", "y/a.csv"]) == ["x/a.csv", "y/a.csv"]
    names = cli._split_names(["a.csv", "a.csv", "a.csv (2)", "a.csv"])
    assert len(set(names)) == 4 and names[:2] == ["a.csv", "a.csv (2)"]


@pytest.mark.parametrize("hide_pyarrow", [False, True])
def test_large_integer_ids_exact(tmp_path, capsys, monkeypatch, hide_pyarrow):
    if hide_pyarrow:  # pandas' C engine and the Python conversion
        real = cli.find_spec
        monkeypatch.setattr(cli, "find_spec",
                            lambda name: None if name == "pyarrow" else real(name))
    top = 2**64 - 1
    (tmp_path / "u1.csv").write_text(f"id\n{top}\n5\n")
    (tmp_path / "u2.csv").write_text(f"id\n{top - 1}\n")
    code, out, _ = run(capsys, "leakage", tmp_path / "u1.csv", tmp_path / "u2.csv", "--id-col",
                       "id", "--json")
    assert code == 0, out  # read as float64 both are 1.8446744073709552e+19
    (tmp_path / "u3.csv").write_text(f"id\n{top}\n-1\n\n")  # fits neither int64 nor uint64
    (tmp_path / "u4.csv").write_text(f"id\n7\n{top}\n5\n")
    code, out, _ = run(capsys, "leakage", tmp_path / "u1.csv", tmp_path / "u4.csv", "--id-col",
                       "id", "--json")
    assert code == 1 and json.loads(out)["pairs"][0]["shared_ids"] == [5, top]
    code, out, _ = run(capsys, "leakage", tmp_path / "u1.csv", tmp_path / "u3.csv", "--id-col",
                       "id", "--json")
    assert code == 1 and json.loads(out)["pairs"][0]["shared_ids"] == [str(top)]  # as text
    (tmp_path / "i1.csv").write_text(f"id\n{2**53 + 1}\n-{2**63}\n")
    (tmp_path / "i2.csv").write_text(f"id\n{2**53}\n{2**63}\n")  # uint64
    code, out, _ = run(capsys, "leakage", tmp_path / "i1.csv", tmp_path / "i2.csv", "--id-col",
                       "id", "--json")
    assert code == 0, out  # 2**53 + 1 is not 2**53; -2**63 is not 2**63
    (tmp_path / "i3.csv").write_text(f"id\n+{2**53 + 1}\n0{2**63}\n")
    code, out, _ = run(capsys, "leakage", tmp_path / "i1.csv", tmp_path / "i2.csv",
                       tmp_path / "i3.csv", "--id-col", "id", "--json")
    data = json.loads(out)
    assert code == 1 and [p["shared_ids"] for p in data["pairs"]] == [[], [2**53 + 1], [2**63]]


def test_csv_ids_text_unless_all_integers(tmp_path, capsys):
    (tmp_path / "ints.csv").write_text("id\n1\n2\n007\n")
    (tmp_path / "text.csv").write_text("id\n1\nx\n7\n")
    (tmp_path / "dec.csv").write_text("id\n1.0\n2\n")
    (tmp_path / "dec2.csv").write_text("id\n1.0\n")
    args = ["--id-col", "id", "--json"]
    code, out, err = run(capsys, "leakage", tmp_path / "ints.csv", tmp_path / "text.csv", *args)
    # text in one file: every CSV ID is text, so "1" meets "1" and "007" is not "7"
    assert code == 1 and json.loads(out)["pairs"][0]["shared_ids"] == ["1"]
    assert "numbers never equal text" not in err
    code, out, _ = run(capsys, "leakage", tmp_path / "ints.csv", tmp_path / "dec.csv", *args)
    assert code == 1 and json.loads(out)["pairs"][0]["shared_ids"] == ["2"]  # 1.0 is not 1
    code, out, _ = run(capsys, "leakage", tmp_path / "dec.csv", tmp_path / "dec2.csv", *args)
    assert code == 1 and json.loads(out)["pairs"][0]["shared_ids"] == ["1.0"]
    pytest.importorskip("pyarrow")
    pd.DataFrame({"id": ["1", "3"]}).to_parquet(tmp_path / "text.parquet")
    code, out, _ = run(capsys, "leakage", tmp_path / "ints.csv", tmp_path / "text.parquet",
                       *args)
    assert code == 1 and json.loads(out)["pairs"][0]["shared_ids"] == ["1"]
    pd.DataFrame({"id": [2**63, 3]}).astype("uint64").to_parquet(tmp_path / "big.parquet")
    (tmp_path / "big.csv").write_text(f"id\n{2**63}\n")
    code, out, _ = run(capsys, "leakage", tmp_path / "big.csv", tmp_path / "big.parquet", *args)
    assert code == 1 and json.loads(out)["pairs"][0]["shared_ids"] == [2**63]


@pytest.mark.parametrize("hide_pyarrow", [False, True])
def test_only_empty_fields_are_missing(tmp_path, capsys, monkeypatch, hide_pyarrow):
    if hide_pyarrow:
        real = cli.find_spec
        monkeypatch.setattr(cli, "find_spec",
                            lambda name: None if name == "pyarrow" else real(name))
    (tmp_path / "a.csv").write_text('id,x\nNA,1\nNone,2\nnull,3\n,4\n"",5\nnan,6\nP1,7\n')
    (tmp_path / "b.csv").write_text("id,x\nnull,1\nNA,2\nNone,3\n,4\nNaN,5\nP2,6\n")
    code, out, _ = run(capsys, "leakage", tmp_path / "a.csv", tmp_path / "b.csv", "--id-col",
                       "id", "--json")
    data = json.loads(out)
    assert code == 1
    assert data["pairs"][0]["shared_ids"] == ["NA", "None", "null"]
    assert data["splits"]["a.csv"] == {"rows": 7, "missing": 2}
    assert data["splits"]["b.csv"] == {"rows": 6, "missing": 1}


def test_help_documents_ids(capsys):
    code, out, _ = run(capsys, "leakage", "--help")
    text = " ".join(out.split())
    assert code == 0 and "Only an empty field is a missing ID" in text and "7.0" in text


def run_error(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert one_line(err), err
    data = json.loads(out) if "--json" in map(str, argv) else None
    if data is not None:
        assert data["exit_status"] == 2 and data["error"] in err
    return err, data


def test_errors_exit_2_one_line(tmp_path, capsys, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    (tmp_path / "a.csv").write_text("id,key\n1,1\n")
    pq.write_table(pa.table({"id": [[1], [2]]}), tmp_path / "list.parquet")
    pq.write_table(pa.table({"id": [{"k": 1}]}), tmp_path / "struct.parquet")
    (tmp_path / "dir.csv").mkdir()
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "blank.csv").write_text("\n\n")
    (tmp_path / "empty.parquet").write_bytes(b"")
    (tmp_path / "other.csv").write_text("key\n1\n")
    (tmp_path / "ragged.csv").write_text('id,x\n1,2\n"3\n')
    a = tmp_path / "a.csv"
    for json_flag in ([], ["--json"]):
        for path, message in [
            ("list.parquet", "list<"), ("struct.parquet", "struct<"),
            ("dir.csv", "is a directory"), ("empty.csv", "empty file"),
            ("blank.csv", "empty file"), ("empty.parquet", "empty file"),
            ("other.csv", "no column 'id'"), ("gone.csv", "no such file"),
            ("ragged.csv", "cannot read as CSV"),
        ]:
            err, data = run_error(capsys, "leakage", a, tmp_path / path, "--id-col", "id",
                                  *json_flag)
            assert message in err
            assert "not supported" in err or path not in ("list.parquet", "struct.parquet")
        err, _ = run_error(capsys, "leakage", a, "--id-col", "id", *json_flag)
        assert "at least two" in err
        err, _ = run_error(capsys, "leakage", a, a, *json_flag)
        assert "--id-col" in err
    # an unreadable file
    monkeypatch.setattr(cli.os, "access", lambda path, mode: False)
    b = tmp_path / "other.csv"
    err, _ = run_error(capsys, "leakage", a, b, "--id-col", "id", "--json")
    assert "permission denied" in err
    monkeypatch.undo()
    # any internal failure: exit 2, never 1 ("shared IDs")
    from fastml import leakage as L

    def boom(columns):
        raise RuntimeError("kernel exploded\nsecond line")

    monkeypatch.setattr(L, "report_from_columns", boom)
    err, data = run_error(capsys, "leakage", a, b, "--id-col", "key", "--json")
    assert "RuntimeError: kernel exploded second line" in err


def test_unreadable_file_as_non_root(tmp_path, capsys):
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        pytest.skip("root reads every file")
    (tmp_path / "a.csv").write_text("id\n1\n")
    (tmp_path / "b.csv").write_text("id\n1\n")
    os.chmod(tmp_path / "b.csv", 0)
    try:
        err, _ = run_error(capsys, "leakage", tmp_path / "a.csv", tmp_path / "b.csv",
                           "--id-col", "id")
    finally:
        os.chmod(tmp_path / "b.csv", 0o600)
    assert "cannot read" in err


def test_version(capsys):
    import fastml

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"fastml {fastml.__version__}"


def test_feather_and_arrow_ipc_read_as_such(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.feather as feather

    t1 = pa.table({"pid": pa.array([1, 2, 3], pa.int64()), "x": [0.1, 0.2, 0.3]})
    t2 = pa.table({"pid": pa.array([3, 4], pa.int64())})
    feather.write_feather(t1, tmp_path / "a.feather")
    with pa.OSFile(str(tmp_path / "b.bin"), "wb") as sink:  # IPC stream, unknown suffix
        with pa.ipc.new_stream(sink, t2.schema) as writer:
            writer.write_table(t2)
    with pa.OSFile(str(tmp_path / "c.arrow"), "wb") as sink:
        with pa.ipc.new_file(sink, t2.schema) as writer:
            writer.write_table(t2)
    status = main(["leakage", str(tmp_path / "a.feather"), str(tmp_path / "b.bin"),
                   str(tmp_path / "c.arrow"), "--id-col", "pid", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert status == 1
    assert out["pairs"][0]["shared_ids"] == [3]
    assert out["pairs"][2]["n_shared_ids"] == 2


@pytest.mark.parametrize("name,content", [
    ("data.xlsx", b"PK\x03\x04junk"), ("data.json", b'{"pid": 1}'),
    ("blob", b"\x00\x01\x02binary\x00"),
])
def test_unknown_formats_refused(tmp_path, capsys, name, content):
    (tmp_path / name).write_bytes(content)
    (tmp_path / "b.csv").write_text("pid\n1\n")
    status = main(["leakage", str(tmp_path / name), str(tmp_path / "b.csv"), "--id-col", "pid"])
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert "not read" in err or "unknown format" in err
