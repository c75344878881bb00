"""Leakage reports: pairwise shared IDs between named splits, printable and JSON-ready."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from fastml.leakage._columns import _Column
from fastml.leakage._matching import _match


@dataclass
class PairLeakage:
    """Leakage between two named splits.

    Attributes
    ----------
    left, right : str
        Split names, in the order given to :func:`leakage_report`.
    n_shared : int
        Number of distinct shared IDs.
    shared_ids : numpy.ndarray
        The shared IDs, sorted (as :func:`shared_ids`).
    left_rows, right_rows : numpy.ndarray
        Positions (0-based, int64) of the rows of each split whose ID is shared.
    left_size, right_size : int
        Number of rows of each split.
    """

    left: str
    right: str
    n_shared: int
    shared_ids: np.ndarray
    left_rows: np.ndarray
    right_rows: np.ndarray
    left_size: int
    right_size: int

    def __bool__(self) -> bool:
        return self.n_shared > 0

    def to_dict(self, max_ids: int | None = 20) -> dict:
        ids = self.shared_ids if max_ids is None else self.shared_ids[:max_ids]
        return {
            "left": self.left,
            "right": self.right,
            "n_shared_ids": self.n_shared,
            "shared_ids": [_jsonable(v) for v in ids.tolist()],
            "shared_ids_truncated": max_ids is not None and self.n_shared > max_ids,
            "left_rows_affected": int(self.left_rows.shape[0]),
            "right_rows_affected": int(self.right_rows.shape[0]),
            "left_rows": self.left_size,
            "right_rows": self.right_size,
        }


def _jsonable(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "backslashreplace")
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


@dataclass
class LeakageReport:
    """Pairwise leakage between named splits (:func:`leakage_report`).

    Its truth value is True when any pair shares an ID. ``print(report)`` gives a summary;
    :meth:`to_dict` a JSON-ready summary.

    Attributes
    ----------
    splits : dict
        Split name -> ``{"rows": int, "missing": int}`` (rows whose ID is missing).
    pairs : list of PairLeakage
        One entry per pair of splits, in the order the splits were given.
    """

    splits: dict[str, dict[str, int]]
    pairs: list[PairLeakage]

    def __bool__(self) -> bool:
        return any(p.n_shared for p in self.pairs)

    @property
    def leaking_pairs(self) -> list[tuple[str, str]]:
        return [(p.left, p.right) for p in self.pairs if p.n_shared]

    def pair(self, left: str, right: str) -> PairLeakage:
        """The entry of the pair (``left``, ``right``), in either order."""
        for p in self.pairs:
            if (p.left, p.right) in ((left, right), (right, left)):
                return p
        raise KeyError((left, right))

    def to_dict(self, max_ids: int | None = 20) -> dict:
        return {
            "leakage": bool(self),
            "splits": {k: dict(v) for k, v in self.splits.items()},
            "pairs": [p.to_dict(max_ids) for p in self.pairs],
        }

    def __repr__(self) -> str:
        shared = ", ".join(f"{p.left}/{p.right}: {p.n_shared}" for p in self.pairs)
        return (f"LeakageReport(leakage={bool(self)}, splits={list(self.splits)}, "
                f"shared_ids={{{shared}}})")

    def __str__(self) -> str:
        verdict = (f"LEAKAGE: {len(self.leaking_pairs)} of {len(self.pairs)} pairs share IDs"
                   if self else f"no leakage: no pair of {len(self.splits)} splits shares an ID")
        lines = [f"Leakage report - {verdict}", ""]
        width = max([5] + [len(k) for k in self.splits])
        lines.append(f"  {'split':<{width}}  {'rows':>13}  {'missing IDs':>11}")
        for k, v in self.splits.items():
            lines.append(f"  {k:<{width}}  {v['rows']:>13,}  {v['missing']:>11,}")
        lines.append("")
        pw = max([4] + [len(p.left) + len(p.right) + 3 for p in self.pairs])
        lines.append(f"  {'pair':<{pw}}  {'shared IDs':>10}  {'rows (left)':>20}  "
                     f"{'rows (right)':>20}")
        for p in self.pairs:
            lines.append(
                f"  {p.left + ' / ' + p.right:<{pw}}  {p.n_shared:>10,}  "
                f"{_share(p.left_rows.shape[0], p.left_size):>20}  "
                f"{_share(p.right_rows.shape[0], p.right_size):>20}"
            )
        for p in self.pairs:
            if p.n_shared:
                sample = ", ".join(repr(_jsonable(v)) for v in p.shared_ids[:5].tolist())
                more = f", ... ({p.n_shared - 5:,} more)" if p.n_shared > 5 else ""
                lines.append(f"  {p.left} / {p.right} shared IDs: {sample}{more}")
        return "\n".join(lines)


def _share(count: int, total: int) -> str:
    pct = 100.0 * count / total if total else 0.0
    return f"{count:,} ({pct:.2f}%)"


def _report_from_columns(columns: dict[str, _Column]) -> LeakageReport:
    pairs = []
    for left, right in combinations(columns, 2):
        ca, cb = columns[left], columns[right]
        m = _match(ca, cb, want_ids=True, want_masks=True)
        pairs.append(PairLeakage(
            left=left, right=right, n_shared=int(m.ids.shape[0]), shared_ids=m.ids,
            left_rows=np.flatnonzero(ca.row_mask(m.mask_a)),
            right_rows=np.flatnonzero(cb.row_mask(m.mask_b)),
            left_size=ca.n_rows, right_size=cb.n_rows,
        ))
    info = {name: {"rows": c.n_rows, "missing": c.n_missing} for name, c in columns.items()}
    return LeakageReport(info, pairs)


# Internal-public name (not in ``__all__``), for fastml's own modules such as ``fastml.cli``:
report_from_columns = _report_from_columns  # a LeakageReport from prepared ID columns
