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
