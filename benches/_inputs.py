"""Benchmark inputs: random multi-label targets, correlated scores and thresholded predictions.

Everything is deterministic (fixed seeds), so fastml and its reference see the same arrays in
one run, and every run sees the same arrays.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

#: Chest-X-ray-like per-label prevalences: 14 labels, geometric from 17% down to 0.2%.
CXR_PREVALENCE = 0.17 * (0.002 / 0.17) ** (np.arange(14) / 13)
POSITIVE_RATE = 0.05  # prevalence of every label in the plain ("5%") inputs
NOISE = 0.5  # y_score = y_true + NOISE * standard normal
THRESHOLD = 0.5  # y_pred = y_score > THRESHOLD
INPUTS_DOC = (
    "y_true int64 0/1, every label 5% positive (`5%`) or 14 labels with chest-X-ray-like "
    "prevalences, geometric from 17% down to 0.2% (`cxr`), each label with at least one "
    f"positive; y_score float64 = y_true + {NOISE} * N(0, 1); "
    f"y_pred int64 = y_score > {THRESHOLD}; batches of B score matrices share one y_true; "
    "fixed seeds"
)


@dataclass(frozen=True)
class Shape:
    """Input shape: ``rows`` x ``labels``, or ``batch`` x ``rows`` x ``labels`` for batches."""

    rows: int
    labels: int
    prevalence: str = "5%"  # "5%" or "cxr"
    batch: int | None = None

    def __post_init__(self):
        if self.prevalence == "cxr" and self.labels != len(CXR_PREVALENCE):
            raise ValueError(f"the cxr prevalence profile has {len(CXR_PREVALENCE)} labels")

    @property
    def id(self) -> str:
        dims = (self.batch, self.rows, self.labels) if self.batch else (self.rows, self.labels)
        return "x".join(map(str, dims)) + ("-cxr" if self.prevalence == "cxr" else "")

    @property
    def text(self) -> str:
        dims = (self.batch, self.rows, self.labels) if self.batch else (self.rows, self.labels)
        return " x ".join(f"{d:,}" for d in dims)


def prevalences(shape: Shape) -> np.ndarray:
    if shape.prevalence == "cxr":
        return CXR_PREVALENCE
    return np.full(shape.labels, POSITIVE_RATE)


@functools.lru_cache(maxsize=1)
def scored(shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_score)``; y_score has shape (batch, rows, labels) when ``shape.batch``."""
    n, L = shape.rows, shape.labels
    rng = np.random.default_rng([n, L, shape.batch or 0, shape.prevalence == "cxr"])
    y = (rng.random((n, L)) < prevalences(shape)).astype(np.int64)
    empty = np.flatnonzero(~y.any(axis=0))  # give every label a positive (rare labels, few rows)
    y[rng.integers(0, n, size=empty.size), empty] = 1
    noise_shape = (shape.batch, n, L) if shape.batch else (n, L)
    score = rng.standard_normal(noise_shape)
    score *= NOISE
    score += y
    return y, score


def predicted(score: np.ndarray) -> np.ndarray:
    """Thresholded scores as int64 0/1 predictions."""
    return (score > THRESHOLD).astype(np.int64)
