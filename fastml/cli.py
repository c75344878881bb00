"""The ``fastml`` command line.

``fastml leakage FILE FILE [FILE ...] --id-col COL [--json]``: shared IDs between data files
(CSV, Parquet or Arrow IPC / Feather), compared pairwise, for data pipelines to gate on:

- exit status 0: no file shares an ID with another; 1: some pair shares IDs; 2: bad input
  or any other error (fewer than two files, a missing column, a directory, an unreadable or
  empty file, a missing reader, an ID column of lists), reported in one line on stderr (and
  as ``{"error": ..., "exit_status": 2}`` on stdout with ``--json``). A file given twice is
  two splits, compared with each other;
- a summary on stdout (``--json``: a JSON object), notes and progress on stderr;
- only the ID column is read: CSV with pandas (its pyarrow engine when pyarrow is installed),
  Parquet and Arrow IPC / Feather with pyarrow; the format comes from the suffix, else from
  the first bytes, and any other format (Excel, JSON, ..., unknown binary) is refused. A
  progress bar appears for files that take more than a couple of seconds to read (written
  here rather than taken from tqdm: it stays silent for quick files, writes two plain lines
  into logs instead of carriage-return redraws, and needs no dependency);
- CSV IDs are read as text, and only an empty field is a missing ID (``NA``, ``None``,
  ``null`` are IDs). Where every CSV file's IDs are integers (and no Parquet ID column holds
  text) they are compared as exact integers (int64 / uint64, never through float: ``007``
  and ``7`` are one ID); otherwise every CSV ID is compared as text, as written (``7``,
  ``7.0`` and ``007`` are three IDs). Parquet columns keep their types.

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
_ARROW_SUFFIXES = {".feather", ".arrow", ".ipc", ".arrows"}
_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}
# formats recognised only to be refused with their name
_OTHER_FORMATS = {".xlsx": "Excel", ".xls": "Excel", ".json": "JSON", ".jsonl": "JSON lines",
                  ".ndjson": "JSON lines", ".pkl": "pickle", ".pickle": "pickle",
                  ".npy": "NumPy", ".npz": "NumPy", ".h5": "HDF5", ".hdf5": "HDF5",
                  ".orc": "ORC", ".avro": "Avro", ".db": "database", ".sqlite": "SQLite"}


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


def file_format(path: Path) -> str:
    """"parquet", "arrow" (Arrow IPC / Feather) or "csv", from the suffix, else from the
    first bytes; :class:`BadInput` for any other format."""
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        return "parquet"
    if suffix in _ARROW_SUFFIXES:
        return "arrow"
    if suffix in _CSV_SUFFIXES or suffix in _COMPRESSION:
        return "csv"
    if suffix in _OTHER_FORMATS:
        raise BadInput(f"{path}: {_OTHER_FORMATS[suffix]} files are not read; use CSV, "
                       "Parquet or Arrow/Feather")
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc})") from None
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:6] == b"ARROW1" or head[:4] == b"FEA1" or head[:4] == b"\xff\xff\xff\xff":
        return "arrow"
    if b"\x00" in head:
        raise BadInput(f"{path}: not a CSV, Parquet or Arrow/Feather file (binary content "
                       "of an unknown format)")
    return "csv"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _csv_header(path: Path, sep: str, compression: str | None) -> list[str] | None:
    """The first non-blank row of a CSV file ([] when there is none); None when the
    compression is one the header is not read from."""
    if compression in ("gzip", "bz2", "xz"):
        import bz2
        import gzip
        import lzma

        opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[compression]
        f = opener(path, "rt", encoding="utf-8", errors="replace", newline="")
    elif compression is None:
        f = open(path, encoding="utf-8-sig", errors="replace", newline="")
    else:
        return None  # zip / zstd: leave it to the reader
    with f:
        for row in csv.reader(f, delimiter=sep):
            if row:
                return row
    return []


def _check_path(path: Path) -> None:
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    if path.is_dir():
        raise BadInput(f"{path}: is a directory, not a file")
    if not path.is_file():
        raise BadInput(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise BadInput(f"{path}: cannot read (permission denied)")
    if path.stat().st_size == 0:
        raise BadInput(f"{path}: empty file")


def read_ids(path: str | Path, id_col: str, *, as_string: bool = False,
             progress: Progress | None = None):
    """The ID column ``id_col`` of a CSV or Parquet file. Raises :class:`BadInput` for
    anything the command cannot read.

    Parquet: a pyarrow ChunkedArray of the column's own type (text with ``as_string``).
    CSV: the column as text (a pyarrow ChunkedArray of ``large_string``, or a NumPy object
    array of ``str`` where pyarrow is missing) whose missing IDs, and only those, are the
    empty fields; :func:`csv_ids_as_integers` converts it where every ID is an integer.
    """
    path = Path(path)
    _check_path(path)
    progress = progress or Progress(str(path), enabled=False)
    fmt = file_format(path)
    if fmt == "parquet":
        return _read_parquet(path, id_col, as_string, progress)
    if fmt == "arrow":
        return _read_arrow(path, id_col, as_string, progress)
    return _read_csv(path, id_col, progress)


def _read_arrow(path: Path, id_col: str, as_string: bool, progress: Progress):
    """The ID column of an Arrow IPC file or stream (Feather v2 is the IPC file format;
    Feather v1 through pyarrow.feather)."""
    if find_spec("pyarrow") is None:
        raise BadInput(f"{path}: reading Arrow/Feather needs pyarrow (pip install pyarrow)")
    import pyarrow as pa
    import pyarrow.feather as feather

    try:
        with progress:
            table = feather.read_table(path, columns=None, memory_map=True)
    except Exception:
        try:
            with progress, pa.memory_map(str(path)) as source:
                table = pa.ipc.open_stream(source).read_all()
        except Exception as exc:
            raise BadInput(f"{path}: not a readable Arrow/Feather file ({exc})") from None
    if id_col not in table.column_names:
        names = ", ".join(map(repr, table.column_names))
        raise BadInput(f"{path}: no column {id_col!r} (columns: {names})")
    column = table.column(id_col)
    if as_string and not (pa.types.is_string(column.type) or
                          pa.types.is_large_string(column.type)):
        try:
            column = column.cast(pa.large_string())
        except Exception as exc:
            raise BadInput(f"{path}: cannot read column {id_col!r} as text ({exc})") from None
    return column


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
    try:
        with progress:
            for i in range(n_groups):
                table = pf.read_row_group(i, columns=[id_col])
                chunks += table.column(0).chunks
                progress.update((i + 1) / max(1, n_groups), f"row group {i + 1}/{n_groups}")
        column = pa.chunked_array(chunks, type=pf.schema_arrow.field(id_col).type)
        if as_string and not (pa.types.is_string(column.type) or
                              pa.types.is_large_string(column.type)):
            column = column.cast(pa.large_string())
    except Exception as exc:
        raise BadInput(f"{path}: cannot read column {id_col!r} "
                       f"({type(exc).__name__}: {exc})") from None
    return column


def _read_csv(path: Path, id_col: str, progress: Progress):
    suffixes = [s.lower() for s in path.suffixes]
    compression = _COMPRESSION.get(suffixes[-1]) if suffixes else None
    stem_suffix = suffixes[-2] if compression and len(suffixes) > 1 else (
        suffixes[-1] if suffixes else "")
    sep = "\t" if stem_suffix == ".tsv" else ","
    try:
        header = _csv_header(path, sep, compression)
    except (OSError, EOFError, UnicodeError, csv.Error) as exc:
        raise BadInput(f"{path}: cannot read ({exc})") from None
    if header == []:
        raise BadInput(f"{path}: empty file (no header line)")
    if header and id_col not in header:
        cols = ", ".join(map(repr, header[:20])) + (", ..." if len(header) > 20 else "")
        raise BadInput(f"{path}: no column {id_col!r} (columns: {cols})")
    has_arrow = find_spec("pyarrow") is not None
    if find_spec("pandas") is None:
        if not has_arrow:
            raise BadInput(f"{path}: reading CSV needs pandas (pip install pandas pyarrow)")
        return _read_csv_arrow(path, id_col, sep, progress)
    import pandas as pd

    engine = "pyarrow" if has_arrow and compression != "zip" else "c"
    # every ID as text; only an empty field is missing (NA, None, null are IDs)
    kwargs = {"usecols": [id_col], "sep": sep, "engine": engine, "compression": compression,
              "dtype": {id_col: str}, "keep_default_na": False, "na_values": [""]}
    try:
        with progress, _CountingFile(path, progress) as f:
            frame = pd.read_csv(f, **kwargs)
    except pd.errors.EmptyDataError:
        raise BadInput(f"{path}: empty file (no header line)") from None
    except Exception as exc:
        raise BadInput(f"{path}: cannot read as CSV ({type(exc).__name__}: {exc})") from None
    if id_col not in frame.columns:
        raise BadInput(f"{path}: no column {id_col!r}")
    series = frame[id_col]
    if has_arrow:
        import pyarrow as pa

        return pa.chunked_array([pa.array(series, type=pa.large_string(), from_pandas=True)])
    values = series.to_numpy(dtype=object)
    values[pd.isna(values)] = None
    return values


def _read_csv_arrow(path: Path, id_col: str, sep: str, progress: Progress):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        with progress, _CountingFile(path, progress) as f:
            table = pcsv.read_csv(
                f,
                parse_options=pcsv.ParseOptions(delimiter=sep),
                convert_options=pcsv.ConvertOptions(
                    include_columns=[id_col], column_types={id_col: pa.large_string()},
                    null_values=[""], strings_can_be_null=True,
                    quoted_strings_can_be_null=True),
            )
    except Exception as exc:
        raise BadInput(f"{path}: cannot read as CSV ({type(exc).__name__}: {exc})") from None
    return table.column(id_col)


_INTEGER = r"^[+-]?[0-9]+$"


def csv_ids_as_integers(text):
    """A CSV ID column read as text (:func:`read_ids`) as exact integers: int64 where every
    ID fits, else uint64 where every ID fits, else None (also when an ID is not an integer:
    optional sign, ASCII digits). Missing IDs stay missing."""
    if type(text).__module__.split(".", 1)[0] == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pc.all(pc.match_substring_regex(text, _INTEGER), min_count=0).as_py():
            return None
        for pattern, replacement in ((r"^\+", ""), (r"^-0+$", "0")):  # Arrow parses no "+"
            if pc.any(pc.match_substring_regex(text, pattern), min_count=0).as_py():
                text = pc.replace_substring_regex(text, pattern, replacement)
        for dtype in (pa.int64(), pa.uint64()):
            try:
                return pc.cast(text, dtype)
            except (pa.ArrowInvalid, OverflowError):
                continue
        return None
    import re

    import numpy as np

    pattern = re.compile(_INTEGER)
    missing = np.array([v is None for v in text], dtype=bool)
    present = [v for v in text if v is not None]
    if not all(pattern.match(v) for v in present):
        return None
    numbers = [int(v) for v in present]
    for dtype in (np.int64, np.uint64):
        try:
            values = np.zeros(len(text), dtype)
            values[~missing] = np.array(numbers, dtype=dtype)
        except OverflowError:
            continue
        import pandas as pd

        return pd.arrays.IntegerArray(values, missing) if missing.any() else values
    return None


# ------------------------------------------------------------------------------- command


def _split_names(paths: list[str]) -> list[str]:
    """Split names: the file names, else the paths where two different paths share a name;
    a file given again gets " (2)", " (3)" ..."""
    names = [Path(p).name for p in paths]
    by_name: dict[str, set[str]] = {}
    for name, path in zip(names, paths, strict=True):
        by_name.setdefault(name, set()).add(str(path))
    if any(len(group) > 1 for group in by_name.values()):
        names = [str(p) for p in paths]
    used: set[str] = set()
    out = []
    for name in names:
        candidate, k = name, 1
        while candidate in used:
            k += 1
            candidate = f"{name} ({k})"
        used.add(candidate)
        out.append(candidate)
    return out


_FAMILY_WORDS = {"num": "numbers", "str": "text", "bytes": "bytes", "object": "mixed values",
                 "M8": "datetimes", "m8": "durations", "t8": "times of day"}


def _fail(args, message: str) -> int:
    message = _one_line(message)
    print(f"fastml leakage: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "exit_status": 2}))
    return 2


def _leakage(args) -> int:
    try:
        return _run_leakage(args)
    except BadInput as exc:
        return _fail(args, str(exc))
    except Exception as exc:  # never exit 1 ("shared IDs") on a failure
        return _fail(args, f"error: {type(exc).__name__}: {exc}")


def _run_leakage(args) -> int:
    from fastml import leakage as L

    if len(args.files) < 2:
        raise BadInput("needs at least two files to compare")
    names = _split_names(args.files)
    raw: dict[str, object] = {}
    is_csv: dict[str, bool] = {}
    seen: dict[str, str] = {}  # real path -> first split name
    for name, path in zip(names, args.files, strict=True):
        real = os.path.realpath(path)
        if real in seen:
            print(f"fastml leakage: note: {path} is given more than once ({seen[real]!r} and "
                  f"{name!r}), its IDs are compared with themselves", file=sys.stderr)
            raw[name], is_csv[name] = raw[seen[real]], is_csv[seen[real]]
            continue
        seen[real] = name
        progress = Progress(f"reading {path}", after=args.progress_after,
                            enabled=not args.no_progress)
        raw[name] = read_ids(path, args.id_col, as_string=args.as_string, progress=progress)
        is_csv[name] = file_format(Path(path)) == "csv"
    paths = dict(zip(names, args.files, strict=True))

    def column(name, ids):
        label = f"{paths[name]}: column {args.id_col!r}"
        try:
            return L.id_column(ids, label)
        except (TypeError, ValueError) as exc:
            message = str(exc)
            raise BadInput(message if message.startswith(label) else f"{label}: {message}"
                           ) from None

    columns = {name: column(name, ids) for name, ids in raw.items() if not is_csv[name]}
    csv_names = [name for name in names if is_csv[name]]
    # CSV IDs are integers only where every CSV ID is one and no other file holds text IDs,
    # so that "1" in one file always meets "1" in another
    if not args.as_string and not any(c.family == "str" for c in columns.values()):
        converted = {}
        for name in csv_names:
            ints = csv_ids_as_integers(raw[name])
            if ints is None:
                break
            converted[name] = ints
        else:
            raw.update(converted)
    columns.update({name: column(name, raw[name]) for name in csv_names})
    columns = {name: columns[name] for name in names}
    families = {name: c.family for name, c in columns.items() if c.family != "empty"}
    if len({f for f in families.values() if f != "object"}) > 1:
        kinds = ", ".join(f"{n}: {_FAMILY_WORDS.get(f, f)}" for n, f in families.items())
        print(f"fastml leakage: note: the ID columns hold different kinds of values ({kinds}); "
              "numbers never equal text, so those pairs cannot share IDs (--as-string reads "
              "every ID as text)", file=sys.stderr)
    report = L.report_from_columns(columns)
    if args.json:
        out = report.to_dict(max_ids=args.max_ids)
        out["id_col"] = args.id_col
        out["files"] = paths
        text = json.dumps(out, indent=2)
    else:
        text = f"ID column: {args.id_col!r}\n{report}"
    print(text)
    return 1 if report else 0


_ID_HELP = (
    "IDs compare as Python values, as a set would. CSV: every ID is read as text; when every "
    "CSV file's IDs are all integers (and no Parquet ID column holds text) they are compared "
    "as integers, exactly (int64 / uint64, never through float: 007 and 7 are one ID); "
    "otherwise every CSV ID is compared as text, as written (7, 7.0 and 007 are three IDs). "
    "Only an empty field is a missing ID: NA, None, null, nan are IDs like any other. "
    "Parquet columns keep their types."
)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block; main() reports it
        raise _UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fastml", description="fastml command line tools."
    )
    parser.add_argument("--version", action="version", version=f"fastml {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser(
        "leakage",
        help="shared IDs between data files (train/val/test splits)",
        description=(
            "Report IDs shared between CSV / Parquet / Arrow files, pairwise. Exit status: 0 no "
            "shared ID, 1 some pair shares IDs, 2 bad input or any error. Missing IDs are "
            "counted, never shared. A file given twice is compared with itself. " + _ID_HELP
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV (.csv, .tsv, compressed), "
                   "Parquet or Arrow IPC / Feather files; at least two")
    p.add_argument("--id-col", required=True, metavar="COL", help="name of the ID column")
    p.add_argument("--json", action="store_true", help="print a JSON object (on an error: "
                   '{"error": ..., "exit_status": 2})')
    p.add_argument("--as-string", action="store_true",
                   help="read the IDs as text in every file, Parquet included (no integer "
                   "conversion)")
    p.add_argument("--max-ids", type=int, default=20, metavar="N",
                   help="shared IDs listed per pair in --json output (default 20; -1: all)")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.add_argument("--progress-after", type=float, default=2.0, metavar="SECONDS",
                   help="show a progress bar for files taking longer than this (default 2)")
    p.set_defaults(run=_leakage)
    return parser


def _version() -> str:
    import fastml

    return fastml.__version__


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit
    status."""
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0)
        return int(exc.code or 0)
    except _UsageError as exc:
        message = _one_line(f"{exc} (see fastml leakage --help)")
        print(message, file=sys.stderr)
        if "--json" in argv:
            print(json.dumps({"error": message, "exit_status": 2}))
        return 2
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "max_ids", 0) is not None and args.max_ids < 0:
        args.max_ids = None
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
