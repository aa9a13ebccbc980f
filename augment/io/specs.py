"""Pipeline specs on disk: a dict headed by ``type`` and ``version``, written as YAML
(``.yaml``/``.yml``, safe-loaded within the bounds of :mod:`augment.io.safe_yaml`) or JSON
(anything else)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def check_header(d: dict[str, Any], kind: str, version: int, aliases: tuple[str, ...] = ()) -> None:
    """Raise ``ValueError`` unless ``d`` is a ``kind`` spec of a version this code reads (specs
    written before the header had a version are version 1)."""
    if not isinstance(d, dict):
        raise ValueError(f"a {kind} spec is a mapping, not {type(d).__name__}")
    found = d.get("type", kind)
    if found != kind and found not in aliases:
        raise ValueError(f"not a {kind} spec: type {found!r}")
    got = d.get("version", 1)
    if not isinstance(got, int) or got > version:
        raise ValueError(
            f"{kind} spec version {got!r} is newer than this library reads ({version})"
        )


def save_spec(d: dict[str, Any], path: str | Path) -> Path:
    """Write ``d`` as YAML or JSON, by the file's suffix."""
    path = Path(path)
    if path.suffix in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(d, sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        path.write_text(json.dumps(d, indent=2), encoding="utf-8")
    return path


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read a spec written by :func:`save_spec`."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        from augment.io.safe_yaml import load_yaml

        return load_yaml(text)
    return json.loads(text)
