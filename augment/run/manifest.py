"""The manifest of a job's output folder: config, versions, models, seed, and which shards are
done with their counts. It is rewritten atomically after every shard, so a killed job resumes
from it."""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from augment._version import __version__
from augment.io.atomic import atomic_write_json
from augment.run.config import RunConfig

MANIFEST = "manifest.json"
TRACKED_PACKAGES = (
    "torch",
    "sentence-transformers",
    "albumentations",
    "nlpaug",
    "numpy",
    "pandas",
    "pyarrow",
    "ray",
)


def versions() -> dict[str, str]:
    out = {"augment-fidelity": __version__, "python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def config_hash(cfg: RunConfig) -> str:
    blob = json.dumps(cfg.job_key(), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class ResumeError(RuntimeError):
    """The output folder holds a different job, or this job on an input that has changed."""


@dataclass
class Manifest:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(
        cls, cfg: RunConfig, restart: bool = False, fingerprint: str | None = None
    ) -> Manifest:
        """The manifest of ``cfg.output``: the existing one when it is the same job on the same
        input (resume), a fresh one otherwise. A different job in the folder, or an input whose
        ``fingerprint`` (see :func:`augment.run.inputs.fingerprint`) differs from the one the
        run began with, is an error naming what differs."""
        path = cfg.output / MANIFEST
        if path.is_file() and not restart:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, OSError) as exc:
                raise ResumeError(
                    f"{path} cannot be read ({exc}); use another output folder or --restart"
                ) from None
            if data.get("config_hash") != config_hash(cfg):
                old = data.get("config", {})
                new = cfg.to_dict()
                diff = sorted(
                    k for k in set(old) | set(new) if k != "output" and old.get(k) != new.get(k)
                )
                raise ResumeError(
                    f"{cfg.output} holds the output of a different job (differs in: "
                    f"{', '.join(diff) or 'config'}); use another output folder or --restart"
                )
            old_fp = data.get("input_fingerprint")
            if fingerprint is not None and old_fp is not None and old_fp != fingerprint:
                raise ResumeError(
                    f"the input {cfg.input.path} has changed since the run in {cfg.output} "
                    f"began (fingerprint {old_fp} then, {fingerprint} now): resuming would mix "
                    "old and new rows; use --restart or another output folder"
                )
            return cls(path, data)
        data = {
            "config": cfg.to_dict(),
            "config_hash": config_hash(cfg),
            "input_fingerprint": fingerprint,
            "seed": cfg.seed,
            "versions": versions(),
            "status": "running",
            "shards": {},
        }
        return cls(path, data)

    @property
    def done(self) -> set[int]:
        return {int(k) for k in self.data["shards"]}

    def mark(
        self, shard: int, counts: dict[str, int], summary: dict[str, Any] | None = None
    ) -> None:
        """Record ``shard`` as done, with its counts and its result's summaries."""
        self.data["shards"][str(shard)] = {**counts, "summary": summary or {}}
        self.save()

    def save(self) -> None:
        atomic_write_json(self.path, self.data)

    def summary(self) -> dict[str, Any]:
        """The shards' summaries added up: count per verdict reason, candidates and accepted per
        operation chain, and planned, candidates and accepted per label."""
        reasons: dict[str, int] = {}
        ops: dict[str, list[int]] = {}
        labels: dict[str, list[int]] = {}
        for s in self.data["shards"].values():
            part = s.get("summary") or {}
            for r, n in part.get("reasons", {}).items():
                reasons[r] = reasons.get(r, 0) + int(n)
            for chain, (n, acc) in part.get("operations", {}).items():
                tot = ops.setdefault(chain, [0, 0])
                tot[0] += int(n)
                tot[1] += int(acc)
            for label, counts in part.get("labels", {}).items():
                tot = labels.setdefault(label, [0] * len(counts))
                for k, n in enumerate(counts):
                    tot[k] += int(n)
        return {"reasons": reasons, "operations": ops, "labels": labels}

    def totals(self) -> dict[str, int]:
        """The shards' counts added up. ``planned + topped_up == accepted + rejected + errors``
        holds for every shard and so for the job (see :class:`augment.run.shard.ShardProcessor`;
        ``topped_up``: variants drawn past the plan by ``filter.top_up``, 0 without it)."""
        keys = (
            "rows",
            "planned",
            "topped_up",
            "candidates",
            "accepted",
            "rejected",
            "errors",
            "row_errors",
        )
        return {k: sum(int(s.get(k, 0)) for s in self.data["shards"].values()) for k in keys}
