"""The CPU fast path shared by the encoders: a torch module exported to ONNX once, from the local
weights (nothing comes from a hub), kept in an on-disk cache and run by ONNX Runtime.

The ONNX file is keyed by a hash of everything that shapes it (the weights, the export settings,
the versions of torch and onnxruntime), written atomically, and checked against the torch module on
a probe input before it is first used: a graph that does not reproduce the module within
``tolerance`` is refused. ONNX Runtime (PyPI ``onnxruntime``) is used because its graph
optimisations (fused attention and layer norms for transformers, blocked NCHWc convolutions for
CNNs) run the same fp32 arithmetic faster than eager torch on a small CPU: 2.6x for the image
network; for MiniLM 1.72x on 2 threads of a quiet machine and no gain on one thread. The image
network can also run on OpenVINO (PyPI ``openvino``), which reads the same checked file and runs
its depthwise-heavy graph about twice as fast again (see :mod:`fidelity.encoders.openvino_runtime`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Environment variable naming the cache folder (default ``~/.cache/augment-fidelity``).
CACHE_ENV = "AUGMENT_FIDELITY_CACHE"
#: Bumped when the way models are exported changes, so that old files are not reused.
EXPORT_FORMAT = 1

BACKENDS = ("auto", "onnx", "openvino", "torch")
#: What the ``backend`` names run on (``runtime`` of an encoder).
RUNTIMES = {"onnx": "onnxruntime", "openvino": "openvino", "torch": "torch"}


def onnxruntime_available() -> bool:
    """Whether ONNX Runtime can be imported (the ``onnx`` backends need it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def cache_dir() -> Path:
    """Where exported models are kept: ``$AUGMENT_FIDELITY_CACHE`` or
    ``~/.cache/augment-fidelity``."""
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "augment-fidelity"


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def openvino_available() -> bool:
    """Whether OpenVINO can be imported (the image encoder's ``openvino`` backend needs it)."""
    return importlib.util.find_spec("openvino") is not None


def cpu_runtimes(backend: str, device: str, half: bool, openvino: bool = False) -> list[str]:
    """The runtimes to try, best first, for a model that can run on ONNX Runtime (and on OpenVINO
    where ``openvino`` is true); an empty list means torch.

    ``"onnx"`` and ``"openvino"`` ask for one runtime (CPU, fp32 only; an error where it cannot
    run); ``"auto"`` takes what is installed on a CPU in fp32: OpenVINO first (for the models that
    allow it), then ONNX Runtime; a GPU keeps the torch (fp16) path."""
    check_backend(backend)
    if backend == "torch":
        return []
    on_cpu = str(device).split(":")[0] == "cpu"
    if backend in ("onnx", "openvino"):
        if backend == "openvino" and not openvino:
            raise ValueError(
                "backend='openvino' runs the default image network only; use 'onnx', 'torch' or "
                "'auto' here"
            )
        if not on_cpu or half:
            raise ValueError(
                f"backend={backend!r} runs on the CPU in fp32 only (device {device!r}, "
                f"{'fp16' if half else 'fp32'}); use backend='torch' or 'auto' there"
            )
        # OpenVINO needs ONNX Runtime too: forked processes run the file on it (ForkSafeSession)
        missing = [] if onnxruntime_available() else ["onnxruntime"]
        if backend == "openvino" and not openvino_available():
            missing.append("openvino")
        if missing:
            raise ImportError(
                f"backend={backend!r} needs {' and '.join(missing)}: pip install "
                f"{' '.join(missing)} (or pip install 'augment-fidelity[fast]')"
            )
        return [RUNTIMES[backend]]
    if not on_cpu or half or not onnxruntime_available():
        return []
    return (["openvino"] if openvino and openvino_available() else []) + ["onnxruntime"]


def file_digest(paths: Sequence[Path], extra: str) -> str:
    """A short hash of the files' bytes and ``extra`` (export settings and versions)."""
    import onnxruntime
    import torch

    h = hashlib.blake2b(digest_size=12)
    h.update(f"{EXPORT_FORMAT}|{torch.__version__}|{onnxruntime.__version__}|{extra}".encode())
    for p in paths:
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()


def cached_export(
    name: str,
    digest: str,
    export: Callable[[Path], None],
    check: Callable[[Path], None],
) -> Path:
    """The cached ONNX file ``<cache>/onnx/<name>-<digest>.onnx``, made by ``export(path)`` and
    verified by ``check(path)`` (which raises when the graph is wrong) when it is not there yet."""
    folder = cache_dir() / "onnx"
    target = folder / f"{name}-{digest}.onnx"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".export-") as tmp:
        path = Path(tmp) / "model.onnx"
        log.info("exporting %s to ONNX (once; cached in %s)", name, folder)
        export(path)
        check(path)
        os.replace(path, target)  # atomic: a reader sees the whole file or none
    return target


def session(path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session with every graph optimisation, on ``threads`` threads (default:
    as many as torch uses, so that ``torch.set_num_threads`` governs both backends)."""
    import onnxruntime as ort
    import torch

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = int(threads or torch.get_num_threads())
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class ForkSafeSession:
    """A runtime session (ONNX Runtime by default, or what ``make`` builds) that a forked process
    (a DataLoader worker) rebuilds for itself, on ONNX Runtime.

    ONNX Runtime's thread pool does not survive ``fork``: a session made in the parent and run in a
    child waits for worker threads that the child does not have, and hangs; a new ONNX Runtime
    session in the child works. OpenVINO's executor threads are process-wide, so in a child even a
    new OpenVINO session waits forever while compiling: a child therefore always builds an ONNX
    Runtime session for the same (checked) file, on ``torch.get_num_threads()`` threads
    (DataLoader workers set 1) unless ``threads`` was given. ``first``, when given, is this
    process's session, already made by ``make(path, threads)``. Inherited sessions are kept, never
    destroyed: their destructors would join the parent's threads (microsoft/onnxruntime#31961)."""

    #: Sessions inherited across a fork, kept alive for the life of the process.
    _inherited: list[Any] = []

    def __init__(
        self,
        path: Path,
        threads: int | None = None,
        make: Callable[[Path, int | None], Any] | None = None,
        first: Any = None,
        runtime: str = "onnxruntime",
    ) -> None:
        self.path = path
        self.threads = threads
        self._runtime = runtime
        self._made_in = self._pid = os.getpid()
        self._session = first if first is not None else (make or session)(path, threads)

    def _current(self) -> Any:
        if self._pid != os.getpid():
            ForkSafeSession._inherited.append(self._session)
            self._session = session(self.path, self.threads)
            self._pid = os.getpid()
        return self._session

    @property
    def runtime(self) -> str:
        """What runs in this process: what ``make`` builds (``runtime``) in the process that made
        the session, ``"onnxruntime"`` in a forked child."""
        return self._runtime if self._made_in == os.getpid() else "onnxruntime"

    def get_inputs(self) -> Any:
        return self._current().get_inputs()

    def run(self, outputs: Any, feeds: dict[str, np.ndarray]) -> Any:
        return self._current().run(outputs, feeds)


def assert_close(got: np.ndarray, want: np.ndarray, tolerance: float, what: str) -> None:
    """Refuse an exported graph whose output is not the torch module's within ``tolerance``."""
    err = float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))
    if not np.isfinite(err) or err > tolerance:
        raise RuntimeError(
            f"the ONNX export of {what} differs from the torch model by {err:.3g} (> {tolerance}); "
            "use backend='torch'"
        )
