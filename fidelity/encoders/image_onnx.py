"""The default image network (EfficientNet-Lite0 with folded batch norm, grid-pooled head) on a CPU
runtime: exported once per weights file, input size and grid with ``torch.onnx`` (TorchScript
exporter), cached on disk, checked against the torch network before first use, and run by
OpenVINO or ONNX Runtime. Both run the depthwise convolutions in blocked layouts with the same fp32
arithmetic as torch; on the 2-core machine of docs/benchmarks/filter_throughput.md ONNX Runtime is
several times faster than eager torch and OpenVINO about twice ONNX Runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fidelity.encoders.onnx_cache import (
    ForkSafeSession,
    assert_close,
    cached_export,
    file_digest,
    session,
)
from fidelity.encoders.openvino_runtime import openvino_session

#: The largest difference allowed between the exported and the torch embeddings (unit vectors).
TOLERANCE = 1e-4

#: Images per run call on each runtime: small batches keep a block's activations in the CPU's
#: caches (measured on 2 threads: OpenVINO 337 images/s at 4, 254 at 64; ONNX Runtime 189 at 8,
#: 150 at 64).
RUN_BATCH = {"openvino": 4, "onnxruntime": 8}
#: How each runtime's session is made from the checked ONNX file.
SESSIONS = {"openvino": openvino_session, "onnxruntime": session}


def grid_pooled(net: Any, grid: int, size: int) -> Any:
    """``net.feature_map`` average-pooled over a ``grid`` x ``grid`` layout and flattened (the
    embedding the image encoder uses) for ``size`` x ``size`` inputs. The cells are those of
    ``adaptive_avg_pool2d``, written as fixed slices so that the graph exports."""
    import torch

    with torch.inference_mode():
        side = int(net.feature_map(torch.zeros(1, 3, size, size)).shape[-1])
    bins = [(i * side // grid, -(-(i + 1) * side // grid)) for i in range(grid)]

    class GridPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            fmap = self.net.feature_map(x).float()
            cells = [fmap[:, :, a:b, c:d].mean(dim=(2, 3)) for a, b in bins for c, d in bins]
            return torch.stack(cells, dim=2).flatten(1)  # the order of pool(...).flatten(1)

    return GridPooled().eval()


class OnnxImageModel:
    """Embeddings ``(n, d)`` of a preprocessed float32 batch ``(n, 3, size, size)`` on ``runtime``
    (``"openvino"`` or ``"onnxruntime"``); both read the same exported, checked file."""

    def __init__(
        self,
        net: Any,
        weights: Path,
        size: int,
        grid: int,
        threads: int | None = None,
        runtime: str = "onnxruntime",
    ) -> None:
        if runtime not in SESSIONS:
            raise ValueError(f"runtime must be one of {sorted(SESSIONS)}, got {runtime!r}")
        module = grid_pooled(net, grid, size)
        digest = file_digest([weights], f"image|lite0|{size}|{grid}")
        make = SESSIONS[runtime]
        self.path = cached_export(
            f"image-lite0-{size}px-grid{grid}",
            digest,
            lambda p: _export(module, p, size),
            lambda p: _check(module, session(p, threads), size),  # checked on ONNX Runtime ...
        )
        first = None
        if runtime == "openvino":  # ... and OpenVINO, which compiles it its own way, on each load
            first = make(self.path, threads)
            _check(module, first, size)
        self._session = ForkSafeSession(self.path, threads, make, first, runtime)

    @property
    def runtime(self) -> str:
        """``"openvino"`` or ``"onnxruntime"``: what runs the network in this process (a forked
        child runs ONNX Runtime; see :class:`~fidelity.encoders.onnx_cache.ForkSafeSession`)."""
        return self._session.runtime

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        step = RUN_BATCH[self.runtime]
        parts = [
            self._session.run(None, {"image": x[i : i + step]})[0] for i in range(0, len(x), step)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def _export(module: Any, path: Path, size: int) -> None:
    import torch

    x = torch.zeros(2, 3, size, size)
    torch.onnx.export(
        module,
        (x,),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["image"],
        output_names=["embedding"],
        dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}},
    )


def _check(module: Any, runner: Any, size: int) -> None:
    """Refuse a session (``runner``) whose embeddings are not the torch module's."""
    import torch

    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (3, 3, size, size)))
    x = x.float()
    with torch.inference_mode():
        want = module(x).numpy()
    got = runner.run(None, {"image": x.numpy()})[0]

    def unit(a: np.ndarray) -> np.ndarray:
        return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)

    assert_close(unit(got), unit(want), TOLERANCE, "the image network")
