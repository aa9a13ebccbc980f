"""OpenVINO as a CPU runtime for an exported ONNX file, behind the ``run`` call of an ONNX Runtime
session so that the encoders treat both alike.

OpenVINO (PyPI ``openvino``, Intel's inference runtime; it runs on AMD and Intel x86 CPUs alike)
is used for the image network because its CPU plugin runs EfficientNet-Lite0's depthwise
convolutions about twice as fast as ONNX Runtime on the same fp32 arithmetic (measured in
docs/benchmarks/filter_throughput.md). Two settings matter:

- ``INFERENCE_PRECISION_HINT`` is pinned to ``f32``: on CPUs with bf16 units OpenVINO would
  otherwise run in bf16 by default, which moves cosines by far more than the band's edges allow;
- ``PERFORMANCE_HINT`` is ``LATENCY`` (one stream using every thread), the fastest setting for the
  small batches the encoder sends.

An infer request is not thread-safe, so each calling thread gets its own.

**One ``openvino.Core`` per process, never destroyed.** OpenVINO's CPU plugin (one per ``Core``)
installs an alternate signal stack on the thread that loads it and, when it is destroyed, unmaps
that stack and puts back the one it found. With two plugins destroyed in the order they were made
the second puts back the first one's stack, already unmapped: the next signal delivered to a
Python handler (Python installs them with ``SA_ONSTACK``; a DataLoader's ``SIGCHLD`` handler, for
one) is written into unmapped memory and the process dies of a segmentation fault. Sharing one
Core, which lives as long as the process, keeps the stack mapped.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np


class OpenVinoSession:
    """A compiled model with ONNX Runtime's ``run(outputs, feeds)`` call (first output only needed
    by the encoders; every output is returned, copied out of OpenVINO's buffers)."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import openvino as ov
        import torch

        self.threads = int(threads or torch.get_num_threads())
        config = {
            "INFERENCE_NUM_THREADS": self.threads,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32",
        }
        self.model = _core(ov).compile_model(str(path), "CPU", config)
        self._local = threading.local()

    def run(self, outputs: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.model.create_infer_request()
        result = request.infer(feeds)
        return [np.array(result[out], copy=True) for out in self.model.outputs]


#: The process's OpenVINO Core, by process id (a forked child makes its own; none is destroyed).
_CORES: dict[int, Any] = {}
_CORES_LOCK = threading.Lock()


def _core(ov: Any) -> Any:
    with _CORES_LOCK:  # two threads must not both make one (the loser would be destroyed)
        pid = os.getpid()
        if pid not in _CORES:
            _CORES[pid] = ov.Core()
        return _CORES[pid]


def openvino_session(path: Path, threads: int | None = None) -> OpenVinoSession:
    """An OpenVINO CPU session for the ONNX file at ``path`` (the ``make`` of a
    :class:`~fidelity.encoders.onnx_cache.ForkSafeSession`)."""
    return OpenVinoSession(path, threads)
