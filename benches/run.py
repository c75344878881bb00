"""Run the fastml benchmarks and print the speedup table.

    python benches/run.py              default size set (a few minutes): every hot path
    python benches/run.py --full       full size set: the default cases at their largest
                                       sizes (10^6 rows, 10^4 x 5,000 labels, 10^8 leakage
                                       IDs, 10^5 x 50 MLSMOTE): an hour or more
    python benches/run.py -k hamming   only matching cases
    python benches/run.py --dask       also the Dask section (benches/dask_bench.py, a
                                       2-process LocalCluster; a few minutes)
    python benches/run.py --write      also write the table to benches/RESULTS.md
                                       (``--output FILE`` writes it elsewhere)

Other arguments go to pytest unchanged. What this does:

1. ``python -I -m pytest benches -o python_files=bench_*.py --sizes=SET`` from the repository
   root, with pytest-benchmark writing its JSON to a temporary file (``-I`` keeps the root off
   sys.path, so the installed fastml is measured). The bench files are named
   ``bench_*.py`` so the project's test command (``pytest tests``) never collects them; they
   can be run by hand with the same options.
2. Start-up probes, each in a fresh interpreter (benches/_probes.py): import times, the first
   call of every public hot-path function on a 10^4 x 10 input (what a user meets right after
   installing), peak memory of one average-precision call.
3. A table per hot path -- reference time, fastml time, speedup = reference / fastml, on the
   median over rounds -- printed and written with the machine, versions and size set.

Exit status: pytest's (a missing fastml function or a result that differs from the reference
fails), after the table of what did run has been written.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

BENCHES = Path(__file__).resolve().parent
ROOT = BENCHES.parent
IMPLS = ("fastml", "reference")
MEMORY_SHAPE = {"tiny": (10_000, 20), "default": (100_000, 20), "full": (1_000_000, 20)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="run the full size set")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # smoke tests
    parser.add_argument("-k", dest="select", help="pytest -k expression selecting cases")
    parser.add_argument("--write", action="store_true", help="write benches/RESULTS.md")
    parser.add_argument("--dask", action="store_true", help="also run the Dask section")
    parser.add_argument("--output", type=Path, help="markdown file to write")
    parser.add_argument("--note", default="", help="line added to the header (e.g. 'busy')")
    args, pytest_args = parser.parse_known_args(argv)
    sizes = "full" if args.full else "tiny" if args.tiny else "default"
    output = args.output or (BENCHES / "RESULTS.md" if args.write else None)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    started = datetime.datetime.now(datetime.timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "benchmarks.json"
        # -I: isolated mode, so the current directory (the repository root) is not put on
        # sys.path and the installed fastml is benchmarked, not the source tree's ./fastml
        # (which has no fastml.kernels and no compiled extensions).
        cmd = [sys.executable, "-I", "-m", "pytest", "benches", "-o", "python_files=bench_*.py"]
        cmd += [f"--sizes={sizes}", f"--benchmark-json={json_path}"]
        cmd += ["--benchmark-group-by=group", "--benchmark-sort=name"]
        cmd += ["--benchmark-columns=median,min,max,rounds", "-p", "no:cacheprovider"]
        cmd += (["-k", args.select] if args.select else []) + pytest_args
        print("$", " ".join(cmd), flush=True)
        status = subprocess.call(cmd, cwd=ROOT)
        report = json.loads(json_path.read_text()) if json_path.exists() else {}
    elapsed = datetime.datetime.now(datetime.timezone.utc) - started

    text = "\n".join(
        [
            header(sizes, started, elapsed, load, args, report.get("benchmarks", [])),
            *tables(report.get("benchmarks", []), report.get("failures", {})),
            startup(sizes),
            *([_dask_section(sizes)] if args.dask else []),
        ]
    )
    print("\n" + text)
    if output:
        output.write_text(text)
        print(f"wrote {output}")
    return status


def header(sizes, started, elapsed, load, args, entries) -> str:
    import fastml

    sys.path.insert(0, str(BENCHES))
    from _inputs import INPUTS_DOC

    commit = _git("rev-parse", "--short", "HEAD")
    if commit and _git("status", "--porcelain", "--untracked-files=no"):
        commit += " (uncommitted changes)"
    first_calls = sum(
        e["extra_info"]["probe_s"] for e in entries if e["extra_info"]["impl"] == "fastml"
    )
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    versions = ", ".join(
        f"{name} {ver}"
        for name, ver in [
            ("Python", platform.python_version()),
            ("NumPy", version("numpy")),
            ("Cython", _maybe_version("Cython")),
            ("scikit-learn", version("scikit-learn")),
            ("pytest-benchmark", version("pytest-benchmark")),
            ("fastml", _fastml_version() + (f" at {commit}" if commit else "")),
        ]
    )
    lines = [
        "# fastml benchmark results",
        "",
        "Generated by `benches/run.py`; do not edit by hand.",
        "",
        f"- Size set: **{sizes}**"
        + (f" (selection `-k {args.select}`)" if args.select else "")
        + f"; started {started:%Y-%m-%d %H:%M} UTC, took {elapsed.total_seconds() / 60:.1f} min",
        f"- Machine: {_cpu_model()}, {cores} logical cores ({usable} usable), "
        f"{platform.system()} {platform.release()} {platform.machine()}"
        + (f"; load average {load:.2f} at start" if load is not None else ""),
        f"- fastml threads: {fastml.get_num_threads()} (FASTML_NUM_THREADS / "
        "fastml.set_num_threads); backend: CPU (compiled kernels)",
        f"- Versions: {versions}",
        f"- Inputs: {INPUTS_DOC}",
        "- Timing: median over rounds of one call each (pytest-benchmark, `time.perf_counter`). "
        "fastml is timed after a warm-up call at full size; the "
        "reference after a warm-up on a slice of the rows, plus one at full size when that is "
        "cheap. Slow calls get 1 round. speedup = reference median / fastml median. "
        "Results are checked to agree (np.allclose, rtol 1e-9); timings are never asserted.",
        f"- fastml's first calls (small-slice warm-ups): {_seconds(first_calls)} in all",
    ]
    if args.note:
        lines.append(f"- Note: {args.note}")
    return "\n".join(lines) + "\n"


def tables(entries: list[dict], failures: dict[str, str]) -> list[str]:
    """One markdown table per hot path; rows in run order, one per (case, shape) pair."""
    pairs: dict[tuple, dict] = {}
    for entry in entries:
        info = entry["extra_info"]
        key = (info["hot_path"], info["case"], info["shape"], info["prevalence"])
        pairs.setdefault(key, {})[info["impl"]] = entry
    out, current = [], None
    for (hot_path, case, shape, prevalence), pair in pairs.items():
        if hot_path != current:
            current = hot_path
            out += [
                f"## {hot_path}\n",
                "| case | shape | prevalence | reference | fastml | speedup | rounds | check |",
                "|---|---|---|---:|---:|---:|---:|---|",
            ]
        ref, fast = pair.get("reference"), pair.get("fastml")
        ref_s = ref["stats"]["median"] if ref else None
        fast_s = fast["stats"]["median"] if fast else None
        speedup = f"{ref_s / fast_s:,.1f}x" if ref and fast else "-"
        rounds = "/".join(str(e["stats"]["rounds"]) if e else "-" for e in (ref, fast))
        if fast:
            check = fast["extra_info"]["check"]
        else:  # no fastml timing: failed before it was timed, or not selected
            fast_id = ref["fullname"].removesuffix("-reference]") + "-fastml]"
            check = f"FAILED: {failures[fast_id][:80]}" if fast_id in failures else "not run"
        check = check.replace("|", "\\|")
        if fast and fast["extra_info"].get("fell_back"):
            check += ", fell back to sklearn"
        out.append(
            f"| {case} | {shape} | {prevalence} | {_seconds(ref_s)} | {_seconds(fast_s)} "
            f"| {speedup} | {rounds} | {check} |"
        )
    if out:
        out.append("\nrounds: reference/fastml.\n")
    return out


def startup(sizes: str) -> str:
    """Import, first-call and memory probes, each in a fresh interpreter (run twice)."""
    rows, labels = MEMORY_SHAPE[sizes]
    fastml_import = _probe("import", "fastml")
    sklearn_import = _probe("import", "sklearn.metrics")
    lines = [
        "## start-up and memory\n",
        "Each measured in a fresh interpreter (run twice, the second reported: the operating "
        "system's file cache is warm, nothing of fastml's is). First calls: import of the "
        "function's module, then its first call on a 10^4 x 10 input.\n",
        "| measurement | value |",
        "|---|---:|",
        f"| `import fastml` | {_seconds(fastml_import, 'seconds')} |",
        f"| `import sklearn.metrics` (for comparison) | {_seconds(sklearn_import, 'seconds')} |",
    ]
    sys.path.insert(0, str(BENCHES))
    from _probes import FIRST_CALLS

    for name, (module, _) in FIRST_CALLS.items():
        first = _probe("first-call", name)
        if first is None:
            lines.append(f"| first `{name}` call | failed |")
            continue
        jit = " (imported Numba)" if first["numba"] else ""
        lines.append(
            f"| first `{name}` call (after `import {module}`: "
            f"{_seconds(first, 'import_s')}) | {_seconds(first, 'call_s')}{jit} |"
        )
    for module in ("fastml.metrics", "sklearn.metrics"):
        e2e = _probe("end-to-end", module)
        lines.append(
            f"| fresh process: `import {module}`, macro AP on 100,000 x 20 "
            f"| {_seconds(e2e, 'seconds')} |"
        )
    for impl in IMPLS:
        m = _probe("memory", impl, str(rows), str(labels))
        what = f"peak memory above inputs, {impl} average_precision_score, {rows:,} x {labels}"
        if m is None:
            lines.append(f"| {what} | failed |")
            continue
        mib = 2.0**20
        lines.append(
            f"| {what} (score matrix {m['score_bytes'] / mib:,.0f} MiB) "
            f"| {m['extra_bytes'] / mib:,.1f} MiB{'' if m['peak_reset'] else ' (lower bound)'} |"
        )
    return "\n".join(lines) + "\n"


def _dask_section(sizes: str) -> str:
    cmd = [sys.executable, str(BENCHES / "dask_bench.py")]
    cmd += ["--small"] if sizes == "tiny" else []
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        return f"## dask\n\nfailed:\n\n```\n{done.stderr[-2000:]}\n```\n"
    return done.stdout


def _probe(*argv: str) -> dict | None:
    """Run ``_probes.py *argv`` twice in fresh interpreters; the second run's result."""
    cmd = [sys.executable, str(BENCHES / "_probes.py"), *argv]
    for _ in range(2):
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        print(f"probe {' '.join(argv)} failed:\n{done.stderr}", file=sys.stderr)
        return None
    return json.loads(done.stdout)


def _seconds(s: float | dict | None, key: str = "") -> str:
    """``s`` (or ``s[key]``) in seconds as text with a unit; "-" for None."""
    if isinstance(s, dict):
        s = s[key]
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            value = s / scale
            return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"
    raise AssertionError


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*argv: str) -> str:
    try:
        return subprocess.run(
            ["git", *argv], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _maybe_version(dist: str) -> str:
    try:
        return version(dist)
    except Exception:  # not installed: the wheel was built elsewhere
        return "not installed"


def _fastml_version() -> str:
    import fastml

    return fastml.__version__


if __name__ == "__main__":
    sys.exit(main())
