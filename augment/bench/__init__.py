"""Downstream benchmarks: what augmentation, with and without the fidelity filter, does to a
model trained on a small training set, against honest controls (tuned baselines, duplicated
rows, size-matched random subsets), with paired bootstrap intervals.

``augment bench text|image|persona|all`` runs them; see docs/benchmarks/downstream.md.
"""

from augment.bench.results import BenchResult, Trial
from augment.bench.tuning import C_GRID, TrainingSet, tune_and_fit

__all__ = ["C_GRID", "BenchResult", "TrainingSet", "Trial", "tune_and_fit"]
