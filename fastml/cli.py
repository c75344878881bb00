"""The ``fastml`` command line.

``fastml leakage FILE FILE [FILE ...] --id-col COL [--json]``: shared IDs between data files
(CSV or Parquet), compared pairwise, for data pipelines to gate on:

- exit status 0: no file shares an ID with another; 1: some pair shares IDs; 2: bad input
  (fewer than two files, a missing column, an unreadable file, a missing reader);
- a summary on stdout (``--json``: a JSON object), notes and progress on stderr;
- only the ID column is read: CSV with pandas (its pyarrow engine when pyarrow is installed),
  Parquet with pyarrow. A progress bar appears for files that take more than a couple of
  seconds to read.

Also runs as ``python -m fastml leakage ...``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import threading
import time
from importlib.util import find_spec
from pathlib import Path

__all__ = ["main"]

_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}


class BadInput(Exception):
    """Input the command cannot use: reported on stderr, exit status 2."""


# ---------------------------------------------------------------------------- progress


class Progress:
    """A progress bar on ``stream`` that appears only once the work has taken longer than
    ``after`` seconds. Use as a context manager; :meth:`update` sets the fraction done.

    On a terminal the bar redraws in place; elsewhere (logs) it writes one line when it
    appears and one when the work is done.
    """

    def __init__(self, label: str, *, after: float = 2.0, stream=None, enabled: bool = True,
                 interval: float = 0.2):
        self.label = label
        self.after = after
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.interval = interval
        self.fraction: float | None = None
        self.detail = ""
        self.shown = False
        self._start = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, fraction: float | None, detail: str = "") -> None:
        self.fraction = fraction
        self.detail = detail

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.shown:
            if exc[0] is None:
                self.fraction = 1.0 if self.fraction is not None else None
            self._draw(final=True)

    def _loop(self) -> None:
        if self._stop.wait(self.after):
            return
        self.shown = True
        if not self._tty:
            self._write(f"{self.label} ...\n")
            return
        while not self._stop.wait(self.interval):
            self._draw()

    def _line(self) -> str:
        elapsed = time.monotonic() - self._start
        if self.fraction is None:
            bar = f"{self.label}: {elapsed:.1f} s"
        else:
            done = int(30 * min(1.0, max(0.0, self.fraction)))
            bar = (f"{self.label} [{'#' * done}{'.' * (30 - done)}] "
                   f"{100 * self.fraction:3.0f}% {elapsed:.1f} s")
        return f"{bar} {self.detail}".rstrip()

    def _draw(self, final: bool = False) -> None:
        if self._tty:
            self._write("\r" + self._line() + ("\n" if final else ""))
        elif final:
            self._write(self._line() + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


class _CountingFile(io.FileIO):
    """A binary file that reports how far it has been read to a :class:`Progress`."""

    def __init__(self, path, progress: Progress):
        super().__init__(path, "r")
        self._progress = progress
        self._size = max(1, os.fstat(self.fileno()).st_size)
        self._mib = self._size / 2**20

    def _report(self) -> None:
        pos = self.tell()
        self._progress.update(pos / self._size, f"{pos / 2**20:,.0f}/{self._mib:,.0f} MiB")

    def readinto(self, b):
        n = super().readinto(b)
        self._report()
        return n

    def read(self, size=-1):
        data = super().read(size)
        self._report()
        return data


# ----------------------------------------------------------------------------- reading


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        return True
    if path.suffix.lower() in {".csv", ".tsv", ".txt"} | set(_COMPRESSION):
        return False
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:
        return False


def _csv_header(path: Path, sep: str, compression: str | None) -> list[str]:
    if compression in ("gzip", "bz2", "xz"):
        import bz2
        import gzip
        import lzma

        opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[compression]
        f = opener(path, "rt", encoding="utf-8", errors="replace", newline="")
    elif compression is None:
        f = open(path, encoding="utf-8-sig", errors="replace", newline="")
    else:
        return []  # zip / zstd: leave it to the reader
    with f:
        return next(csv.reader(f, delimiter=sep), [])


def read_ids(path: str | Path, id_col: str, *, as_string: bool = False,
             progress: Progress | None = None):
    """The ID column ``id_col`` of a CSV or Parquet file (a pandas Series or a pyarrow
    ChunkedArray). Raises :class:`BadInput` for anything the command cannot read."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    progress = progress or Progress(str(path), enabled=False)
    if _is_parquet(path):
        return _read_parquet(path, id_col, as_string, progress)
    return _read_csv(path, id_col, as_string, progress)


def _read_parquet(path: Path, id_col: str, as_string: bool, progress: Progress):
    if find_spec("pyarrow") is None:
        raise BadInput(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise BadInput(f"{path}: not a readable Parquet file ({exc})") from None
    names = pf.schema_arrow.names
    if id_col not in names:
        raise BadInput(f"{path}: no column {id_col!r} (columns: {', '.join(map(repr, names))})")
    n_groups = pf.num_row_groups
    chunks = []
    with progress:
        for i in range(n_groups):
            table = pf.read_row_group(i, columns=[id_col])
            chunks += table.column(0).chunks
            progress.update((i + 1) / max(1, n_groups), f"row group {i + 1}/{n_groups}")
    column = pa.chunked_array(chunks, type=pf.schema_arrow.field(id_col).type)
    if as_string and not (pa.types.is_string(column.type) or
                          pa.types.is_large_string(column.type)):
        column = column.cast(pa.large_string())
    return column


def _read_csv(path: Path, id_col: str, as_string: bool, progress: Progress):
    suffixes = [s.lower() for s in path.suffixes]
    compression = _COMPRESSION.get(suffixes[-1]) if suffixes else None
    stem_suffix = suffixes[-2] if compression and len(suffixes) > 1 else (
        suffixes[-1] if suffixes else "")
    sep = "\t" if stem_suffix == ".tsv" else ","
    try:
        header = _csv_header(path, sep, compression)
    except (OSError, EOFError, UnicodeError, csv.Error) as exc:
        raise BadInput(f"{path}: cannot read ({exc})") from None
    if header and id_col not in header:
        cols = ", ".join(map(repr, header[:20])) + (", ..." if len(header) > 20 else "")
        raise BadInput(f"{path}: no column {id_col!r} (columns: {cols})")
    if find_spec("pandas") is None:
        if find_spec("pyarrow") is None:
            raise BadInput(f"{path}: reading CSV needs pandas (pip install pandas pyarrow)")
        return _read_csv_arrow(path, id_col, sep, as_string, progress)
    import pandas as pd

    engine = "pyarrow" if find_spec("pyarrow") is not None and compression != "zip" else "c"
    kwargs = {"usecols": [id_col], "sep": sep, "engine": engine, "compression": compression}
    if as_string:
        kwargs["dtype"] = {id_col: str}
        kwargs["keep_default_na"] = False
        kwargs["na_values"] = [""]
    try:
        with progress, _CountingFile(path, progress) as f:
            frame = pd.read_csv(f, **kwargs)
    except Exception as exc:
        raise BadInput(f"{path}: cannot read as CSV ({type(exc).__name__}: {exc})") from None
    if id_col not in frame.columns:
        raise BadInput(f"{path}: no column {id_col!r}")
    return frame[id_col]


def _read_csv_arrow(path: Path, id_col: str, sep: str, as_string: bool, progress: Progress):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    types = {id_col: pa.large_string()} if as_string else None
    try:
        with progress, _CountingFile(path, progress) as f:
            table = pcsv.read_csv(
                f,
                parse_options=pcsv.ParseOptions(delimiter=sep),
                convert_options=pcsv.ConvertOptions(include_columns=[id_col],
                                                    column_types=types),
            )
    except Exception as exc:
        raise BadInput(f"{path}: cannot read as CSV ({type(exc).__name__}: {exc})") from None
    return table.column(id_col)


# ------------------------------------------------------------------------------- command


def _split_names(paths: list[str]) -> list[str]:
    names = [Path(p).name for p in paths]
    if len(set(names)) == len(names):
        return names
    return list(paths)


_FAMILY_WORDS = {"num": "numbers", "str": "text", "bytes": "bytes", "object": "mixed values"}


def _leakage(args) -> int:
    from fastml import leakage as L

    if len(args.files) < 2:
        print("fastml leakage: needs at least two files to compare", file=sys.stderr)
        return 2
    names = _split_names(args.files)
    columns = {}
    try:
        for name, path in zip(names, args.files, strict=True):
            progress = Progress(f"reading {path}", after=args.progress_after,
                                enabled=not args.no_progress)
            ids = read_ids(path, args.id_col, as_string=args.as_string, progress=progress)
            columns[name] = L._as_column(ids, name)
    except BadInput as exc:
        print(f"fastml leakage: {exc}", file=sys.stderr)
        return 2
    families = {name: c.family for name, c in columns.items() if c.family != "empty"}
    if len({f for f in families.values() if f != "object"}) > 1:
        kinds = ", ".join(f"{n}: {_FAMILY_WORDS.get(f, f)}" for n, f in families.items())
        print(f"fastml leakage: note: the ID columns hold different kinds of values ({kinds}); "
              "numbers never equal text, so those pairs cannot share IDs (--as-string reads "
              "every ID as text)", file=sys.stderr)
    report = L._report_from_columns(columns)
    if args.json:
        out = report.to_dict(max_ids=args.max_ids)
        out["id_col"] = args.id_col
        out["files"] = dict(zip(names, args.files, strict=True))
        print(json.dumps(out, indent=2))
    else:
        print(f"ID column: {args.id_col!r}")
        print(report)
    return 1 if report else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastml", description="fastml command line tools."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser(
        "leakage",
        help="shared IDs between data files (train/val/test splits)",
        description=(
            "Report IDs shared between CSV / Parquet files, pairwise. Exit status: 0 no "
            "shared ID, 1 some pair shares IDs, 2 bad input. Missing IDs are counted, never "
            "shared. IDs compare as Python values: in CSV files numbers are parsed as numbers "
            "(so 7 and 7.0 are one ID, 007 is 7), unless --as-string."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV (.csv, .tsv, compressed) or "
                   "Parquet files; at least two")
    p.add_argument("--id-col", required=True, metavar="COL", help="name of the ID column")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.add_argument("--as-string", action="store_true",
                   help="read the IDs as text in every file (no number parsing)")
    p.add_argument("--max-ids", type=int, default=20, metavar="N",
                   help="shared IDs listed per pair in --json output (default 20; -1: all)")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.add_argument("--progress-after", type=float, default=2.0, metavar="SECONDS",
                   help="show a progress bar for files taking longer than this (default 2)")
    p.set_defaults(run=_leakage)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit
    status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (2) and --help (0)
        return int(exc.code or 0)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "max_ids", 0) is not None and args.max_ids < 0:
        args.max_ids = None
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
