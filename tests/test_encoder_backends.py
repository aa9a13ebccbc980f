"""The CPU fast paths (ONNX Runtime for text, OpenVINO and ONNX Runtime for images) give the
reference path's decisions on real data and survive a fork, and the image encoder resizes large
photos before it stacks them."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest
import torch

from augment.candidate import sample_seed
from augment.image import ImagePipeline
from augment.text import RandomDeletion, RandomSwap
from fidelity import FidelityFilter, ImageEncoder, TextEncoder
from fidelity.encoders import image as image_module
from fidelity.encoders.image import RECOMMENDED_BAND

pytest.importorskip("onnxruntime", reason="the fast path needs onnxruntime (extra 'fast')")


def _decisions(flt: FidelityFilter, sources: list, candidates: list) -> tuple[list, np.ndarray]:
    verdicts = flt.judge(sources, candidates)
    return [v.reason for v in verdicts], np.array([v.similarity for v in verdicts])


# ---------------------------------------------------------------------------- text
@pytest.fixture(scope="module")
def text_pairs(shared_data) -> tuple[list[str], list[str]]:
    from tests.conftest import read_labelled

    _, texts = read_labelled(shared_data / "text" / "sst2" / "train.txt", limit=60)
    ops = [RandomSwap(aug_p=0.1), RandomDeletion(aug_p=0.1)]
    src, cand = [], []
    for i, t in enumerate(texts):
        for v in range(2):
            src.append(t)
            cand.append(ops[v].apply(t, sample_seed(0, i, v))[0])
    return src, cand


def test_text_fast_path_gives_the_reference_decisions(text_pairs, text_encoder):
    src, cand = text_pairs
    assert text_encoder.runtime == "onnxruntime"  # the default on a CPU
    reference = TextEncoder(backend="torch")
    assert reference.runtime == "torch"
    fast, fast_sims = _decisions(FidelityFilter(text_encoder, 0.7, 0.98), src, cand)
    ref, ref_sims = _decisions(FidelityFilter(reference, 0.7, 0.98), src, cand)
    assert fast == ref
    assert len(set(ref)) >= 2  # the pairs are not all on one side of the band
    assert np.max(np.abs(fast_sims - ref_sims)) < 1e-5


def test_text_export_is_cached_and_backend_round_trips(text_encoder):
    text_encoder.encode(["warm"])
    path = text_encoder._onnx.path
    assert path.is_file() and path.suffix == ".onnx"
    again = TextEncoder()
    assert again.runtime == "onnxruntime" and again._onnx.path == path  # no second export
    d = FidelityFilter(TextEncoder(backend="torch")).to_dict()
    assert d["encoder"]["backend"] == "torch"
    assert FidelityFilter.from_dict(d).encoder.runtime == "torch"
    with pytest.raises(ValueError, match="backend must be one of"):
        TextEncoder(backend="tensorrt")


_FORKED: dict = {}  # what a forked child inherits (Pool arguments would be pickled, not inherited)


def _encode_in_child(texts: list[str]) -> tuple[int, int, np.ndarray]:
    import os

    torch.set_num_threads(1)  # as a DataLoader worker does
    encoder = _FORKED["encoder"]
    out = encoder.encode(texts)
    return os.getpid(), id(encoder._onnx._session._session), np.asarray(out)


def test_text_fast_path_runs_in_a_forked_worker_on_its_own_session(text_encoder):
    """ONNX Runtime's thread pool does not survive fork (a session inherited from the parent can
    hang in the child): the child builds its own session and gives the parent's embeddings."""
    import multiprocessing as mp
    import os

    texts = [f"I want to move {i} pounds to my savings account today" for i in range(48)]
    want = np.asarray(text_encoder.encode(texts))  # the parent's session has run (threads started)
    parent_session = id(text_encoder._onnx._session._session)
    text_encoder.clear_cache()  # the child must run the model, not read the inherited cache
    _FORKED["encoder"] = text_encoder
    try:
        with mp.get_context("fork").Pool(1) as pool:
            pid, child_session, got = pool.apply_async(_encode_in_child, (texts,)).get(timeout=180)
    finally:
        _FORKED.clear()
    assert pid != os.getpid()
    assert child_session != parent_session
    np.testing.assert_allclose(got, want, atol=1e-5)


# ---------------------------------------------------------------------------- images
@pytest.fixture(scope="module")
def xray_pairs(shared_data) -> tuple[list[np.ndarray], list[np.ndarray]]:
    with np.load(shared_data / "image" / "pneumoniamnist.npz") as d:
        images = list(d["test_images"][:12])
    cases = [
        ImagePipeline.from_preset("xray"),
        ImagePipeline([A.Rotate(limit=(170, 170), p=1, border_mode=cv2.BORDER_REPLICATE)]),
        ImagePipeline([A.RandomBrightnessContrast((0.9, 0.9), (-0.95, -0.95), p=1)]),
    ]
    src, var = [], []
    for k, pipe in enumerate(cases):
        for i, im in enumerate(images):
            src.append(im)
            var.append(pipe.apply(im, 10 * k + i)[0])
    src += images[:6]
    var += images[6:]  # other X-rays
    return src, var


@pytest.fixture(scope="module")
def xray_reference(xray_pairs) -> tuple[list, np.ndarray]:
    src, var = xray_pairs
    ref_enc = ImageEncoder(backend="torch")
    out = _decisions(FidelityFilter.from_band(RECOMMENDED_BAND, ref_enc), src, var)
    assert ref_enc.runtime == "torch"
    return out


@pytest.mark.parametrize(
    ("backend", "runtime"),
    [("auto", "openvino"), ("openvino", "openvino"), ("onnx", "onnxruntime")],
)
def test_image_fast_paths_give_the_reference_decisions(
    xray_pairs, xray_reference, backend, runtime
):
    pytest.importorskip(
        "openvino", reason="the default image runtime needs openvino (extra 'fast')"
    )
    src, var = xray_pairs
    fast_enc = ImageEncoder(backend=backend)
    fast, fast_sims = _decisions(FidelityFilter.from_band(RECOMMENDED_BAND, fast_enc), src, var)
    assert fast_enc.runtime == runtime  # "auto" picks OpenVINO on a CPU
    ref, ref_sims = xray_reference
    assert fast == ref
    assert len(set(ref)) >= 2
    assert np.max(np.abs(fast_sims - ref_sims)) < 1e-5


def test_auto_image_backend_falls_back_to_onnxruntime_when_openvino_fails(monkeypatch, caplog):
    from fidelity.encoders import image_onnx

    def broken(path, threads=None):
        raise RuntimeError("no CPU plugin on this machine")

    monkeypatch.setitem(image_onnx.SESSIONS, "openvino", broken)
    encoder = ImageEncoder()
    encoder.encode([np.zeros((32, 32), np.uint8)])
    assert encoder.runtime == "onnxruntime"
    assert "does not run on openvino: no CPU plugin" in caplog.text
    with pytest.raises(RuntimeError, match="no CPU plugin"):  # asked for by name: no fallback
        ImageEncoder(backend="openvino").encode([np.zeros((32, 32), np.uint8)])


def _encode_images_in_child(images: list[np.ndarray]) -> tuple[int, str, np.ndarray]:
    import os

    torch.set_num_threads(1)  # as a DataLoader worker does
    encoders = _FORKED["encoders"]
    outs = [np.asarray(e.encode(images)) for e in encoders]
    return os.getpid(), [e.runtime for e in encoders], outs


def test_image_fast_paths_run_in_a_forked_worker_on_onnxruntime(xray_pairs):
    """OpenVINO's executor threads stay in the parent (a compile in a forked child waited forever
    in the full suite): a child runs the same checked file on ONNX Runtime, with the parent's
    embeddings; an ONNX Runtime encoder rebuilds its session there."""
    import multiprocessing as mp
    import os

    pytest.importorskip("openvino", reason="the default image runtime needs openvino ('fast')")
    images = xray_pairs[0][:8]
    encoders = [ImageEncoder(), ImageEncoder(backend="onnx")]
    wants = [e.encode(images) for e in encoders]  # the parent's sessions have run (threads up)
    assert [e.runtime for e in encoders] == ["openvino", "onnxruntime"]
    for e in encoders:
        e.clear_cache()  # the child must run the model, not read the inherited cache
    _FORKED["encoders"] = encoders
    try:
        with mp.get_context("fork").Pool(1) as pool:
            job = pool.apply_async(_encode_images_in_child, (images,))
            pid, runtimes, gots = job.get(timeout=180)
    finally:
        _FORKED.clear()
    assert pid != os.getpid()
    assert runtimes == ["onnxruntime", "onnxruntime"]
    assert [e.runtime for e in encoders] == ["openvino", "onnxruntime"]  # the parent's unchanged
    for got, want in zip(gots, wants, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


SIGNAL_AFTER_ENCODERS_ARE_GONE = """
import gc, os, signal
import numpy as np
from fidelity import ImageEncoder
handled = []
signal.signal(signal.SIGUSR1, lambda *args: handled.append(True))  # Python's handlers: SA_ONSTACK
first = ImageEncoder(); first.encode([np.zeros((32, 32), np.uint8)])
second = ImageEncoder(); second.encode([np.zeros((32, 32), np.uint8)])
assert first.runtime == second.runtime == "openvino", (first.runtime, second.runtime)
del first; gc.collect()
del second; gc.collect()
os.kill(os.getpid(), signal.SIGUSR1)
print("handled", handled)
"""


def test_signals_are_handled_after_openvino_encoders_are_gone():
    """Two encoders dropped in the order they were made once left the thread's alternate signal
    stack pointing at unmapped memory (each had its own OpenVINO Core): the next signal killed the
    process (the full suite died of it in a DataLoader's SIGCHLD). Run in a child process so that
    a crash is a return code, not the end of the test run."""
    import subprocess
    import sys

    pytest.importorskip("openvino", reason="needs openvino (extra 'fast')")
    done = subprocess.run(
        [sys.executable, "-c", SIGNAL_AFTER_ENCODERS_ARE_GONE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "handled [True]" in done.stdout


def test_openvino_backend_serves_the_default_image_network_only():
    with pytest.raises(ValueError, match="default image network only"):
        TextEncoder(backend="openvino").encode(["x"])
    with pytest.raises(ValueError, match="default image network only"):
        ImageEncoder(model=torch.nn.Conv2d(3, 4, 3), backend="openvino").encode(
            [np.zeros((32, 32), np.uint8)]
        )


def test_image_backend_onnx_refuses_a_custom_model():
    with pytest.raises(ValueError, match="default network only"):
        ImageEncoder(model=torch.nn.Conv2d(3, 4, 3), backend="onnx").encode(
            [np.zeros((32, 32), np.uint8)]
        )


def test_grey_images_are_resized_once_and_fill_all_three_channels(xray_pairs):
    """A grey X-ray, the same X-ray as (H, W, 1), as three equal channels and as floats in 0..1
    reach the model as the same tensor; colour channels stay apart."""
    grey = xray_pairs[0][0]
    enc = ImageEncoder(backend="torch")
    forms = [grey, grey[:, :, None], np.repeat(grey[:, :, None], 3, axis=2)]
    x = enc.preprocess(forms + [grey.astype(np.float32) / 255.0])
    for k in range(1, 4):
        torch.testing.assert_close(x[k], x[0], atol=1e-5, rtol=0)
    assert not torch.equal(x[0, 0], x[0, 0, :1].expand_as(x[0, 0]))  # not a flat image
    colour = np.random.default_rng(0).integers(0, 256, (28, 28, 3), dtype=np.uint8)
    mixed = enc.preprocess([grey, colour])
    torch.testing.assert_close(mixed[1], enc.preprocess([colour])[0])
    assert not torch.equal(mixed[1, 0], mixed[1, 1])  # colour channels stay apart


def test_large_photos_are_resized_before_they_are_stacked(monkeypatch):
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8) for _ in range(3)]
    small = [rng.integers(0, 256, (28, 28), dtype=np.uint8) for _ in range(40)]
    enc = ImageEncoder(backend="torch")
    seen: list[tuple[tuple[int, ...], int]] = []
    interpolate = torch.nn.functional.interpolate

    def spy(t, *args, **kwargs):
        seen.append((tuple(t.shape), t.element_size() * t.nelement()))
        return interpolate(t, *args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "interpolate", spy)
    x = enc.preprocess(photos + small)
    assert tuple(x.shape) == (43, 3, 224, 224)  # what reaches the model
    one_photo = 3000 * 4000 * 3 * 4
    big = [s for s in seen if s[0][2:] == (3000, 4000)]
    assert [s[0][0] for s in big] == [1, 1, 1]  # one full-resolution photo at a time
    assert all(b <= max(image_module.STACK_BYTES, one_photo) for _, b in seen)
    assert [s[0][0] for s in seen if s[0][2:] == (28, 28)] == [40]  # small ones still together
    monkeypatch.undo()
    alone = torch.cat([enc.preprocess([p]) for p in photos[:1]])
    assert torch.allclose(x[:1], alone, atol=1e-4)  # chunking changes nothing


def test_auto_backend_falls_back_to_torch_where_it_cannot_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("AUGMENT_FIDELITY_CACHE", str(blocker))  # nowhere to write the export
    assert TextEncoder().runtime == "torch"
    with pytest.raises(OSError):
        TextEncoder(backend="onnx").encode(["x"])


def test_a_run_config_backend_reaches_the_encoders():
    """`filter.backend` of an `augment run` job picks the runtime (the torch reference here)."""
    from augment.image import config_filter as image_filter
    from augment.run.config import FilterConfig
    from augment.text import config_filter as text_filter

    reference = FilterConfig(backend="torch")
    text, image = text_filter(reference, 100), image_filter(reference, 100)
    text.encoder.encode(["a short text"])
    image.encoder.encode([np.zeros((32, 32), np.uint8)])
    assert (text.encoder.runtime, image.encoder.runtime) == ("torch", "torch")
    assert image_filter(FilterConfig(), 100).encoder.backend == "auto"
