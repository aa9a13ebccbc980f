"""The CPU fast path (ONNX Runtime) gives the reference path's decisions on real data, and the image
encoder resizes large photos before it stacks them."""

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


def test_image_fast_path_gives_the_reference_decisions(xray_pairs):
    src, var = xray_pairs
    fast_enc = ImageEncoder()
    fast, fast_sims = _decisions(FidelityFilter.from_band(RECOMMENDED_BAND, fast_enc), src, var)
    assert fast_enc.runtime == "onnxruntime"
    ref_enc = ImageEncoder(backend="torch")
    ref, ref_sims = _decisions(FidelityFilter.from_band(RECOMMENDED_BAND, ref_enc), src, var)
    assert ref_enc.runtime == "torch"
    assert fast == ref
    assert len(set(ref)) >= 2
    assert np.max(np.abs(fast_sims - ref_sims)) < 1e-5


def test_image_backend_onnx_refuses_a_custom_model():
    with pytest.raises(ValueError, match="default network only"):
        ImageEncoder(model=torch.nn.Conv2d(3, 4, 3), backend="onnx").encode(
            [np.zeros((32, 32), np.uint8)]
        )


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
