"""ImagePipeline: seeds, provenance, targets that follow the image, serialization, bad input.

Runs on the real chest X-rays of PneumoniaMNIST in ../shared/data.
"""

from __future__ import annotations

import json
import subprocess
import sys

import albumentations as A
import cv2
import numpy as np
import pytest

from augment.augmenter import Augmenter, AugmentResult, as_sources
from augment.candidate import Candidate, sample_seed
from augment.image import ImagePipeline
from augment.image.provenance import LazyOperations, operations
from tests.conftest import REPO


@pytest.fixture(scope="module")
def xrays(shared_data) -> np.ndarray:
    with np.load(shared_data / "image" / "pneumoniamnist.npz") as d:
        return d["test_images"][:24]


@pytest.fixture(scope="module")
def xray224(xrays) -> np.ndarray:
    """One X-ray upsampled to 224x224, as the benchmark and a real film would be."""
    return cv2.resize(xrays[0], (224, 224), interpolation=cv2.INTER_CUBIC)


# ---------------------------------------------------------------------------- seeds
def test_same_seed_same_variant_whatever_ran_before(xrays):
    p = ImagePipeline.from_preset("xray")
    first = [p.apply(x, 7) for x in xrays[:5]]
    for s in range(20):  # disturb any state the pipeline might carry
        p.apply(xrays[s % 5], s)
    again = [ImagePipeline.from_preset("xray").apply(x, 7) for x in xrays[:5]]
    for (a, ops_a), (b, ops_b) in zip(first, again, strict=True):
        assert np.array_equal(a, b)
        assert [o.to_dict() for o in ops_a] == [o.to_dict() for o in ops_b]
    assert all(np.array_equal(p(x, 7), a) for x, (a, _) in zip(xrays[:5], first, strict=True))
    outs = {p.apply(xrays[0], s)[0].tobytes() for s in range(10)}
    assert len(outs) >= 8  # different seeds give different variants


SUBPROCESS = """
import sys, numpy as np
from augment.image import ImagePipeline
x = np.load(sys.argv[1])["test_images"][:5]
p = ImagePipeline.from_preset("xray")
sys.stdout.write(",".join(str(int(p.apply(im, 1000 + i)[0].astype(np.int64).sum() * 31 + i))
                          for i, im in enumerate(x)))
"""


def test_same_variant_in_another_process(shared_data, xrays):
    out = subprocess.run(
        [sys.executable, "-c", SUBPROCESS, str(shared_data / "image" / "pneumoniamnist.npz")],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    ).stdout
    p = ImagePipeline.from_preset("xray")
    here = [
        str(int(p.apply(im, 1000 + i)[0].astype(np.int64).sum() * 31 + i))
        for i, im in enumerate(xrays[:5])
    ]
    assert out.split(",") == here


class _XrayDataset:
    """What a training loop would write: variant ``v`` of image ``i`` from a derived seed."""

    def __init__(self, images: np.ndarray, pipeline: ImagePipeline) -> None:
        self.images, self.pipeline = images, pipeline

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.pipeline(self.images[i], seed=sample_seed(0, i, 0))


def test_same_variant_in_dataloader_workers(xrays):
    torch = pytest.importorskip("torch")
    ds = _XrayDataset(xrays[:8], ImagePipeline.from_preset("xray"))
    in_process = np.stack([ds[i] for i in range(len(ds))])
    loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2, shuffle=False)
    from_workers = np.concatenate([b.numpy() for b in loader])
    assert np.array_equal(in_process, from_workers)


# ---------------------------------------------------------------------------- provenance
def test_provenance_holds_the_drawn_parameters(xrays):
    p = ImagePipeline.from_preset("xray")
    seen = set()
    for s in range(30):
        out, ops = p.apply(xrays[s % len(xrays)], s)
        json.dumps([o.to_dict() for o in ops])  # plain, file-ready
        for op in ops:
            seen.add(op.name)
            assert op.name != "HorizontalFlip"
            if op.name == "Affine":
                assert -7.0 <= op.params["angle"] <= 7.0
                assert 0.95 <= op.params["scale"]["x"] <= 1.05
            if op.name == "RandomGamma":
                assert 0.85 <= op.params["gamma"] <= 1.15
            if op.name == "RandomBrightnessContrast":
                assert 0.9 <= op.params["alpha"] <= 1.1
        if not ops:  # nothing fired: nothing changed
            assert np.array_equal(out, xrays[s % len(xrays)])
    assert {"Affine", "RandomGamma", "RandomBrightnessContrast"} <= seen


def test_recorded_angle_is_the_angle_applied(xray224):
    p = ImagePipeline([A.Rotate(limit=30, p=1.0, border_mode=cv2.BORDER_REPLICATE)])
    for seed in range(3):
        out, ops = p.apply(xray224, seed)
        redo = ImagePipeline(
            [A.Rotate(limit=(ops[0].params["angle"],) * 2, p=1.0, border_mode=cv2.BORDER_REPLICATE)]
        ).apply(xray224, 0)[0]
        assert np.abs(out.astype(int) - redo.astype(int)).max() <= 1


def _tracked(p, payload, seed):
    """The operations as apply made them before they were lazy: one run with tracking on."""
    _, out = p._run(payload, seed, track=True)
    return out["image"], operations(out["applied_transforms"])


def _rgb(img):
    return np.repeat(img[:, :, None], 3, axis=2)


@pytest.mark.parametrize("preset", ["xray", "photo", "document"])
def test_lazy_operations_are_the_tracked_ones(xrays, xray224, preset):
    p = ImagePipeline.from_preset(preset)
    images = [xray224, *xrays] if preset == "xray" else [_rgb(xray224), *map(_rgb, xrays)]
    fired = 0
    for s in range(120):
        img, seed = images[s % len(images)], sample_seed(3, preset, s)
        out, ops = p.apply(img, seed)
        assert isinstance(ops, LazyOperations) and not ops.materialised  # nothing paid yet
        tracked_out, tracked = _tracked(ImagePipeline.from_preset(preset), img, seed)
        assert np.array_equal(out, tracked_out)
        assert ops == tracked and tracked == ops and ops.materialised
        assert [o.to_dict() for o in ops] == [o.to_dict() for o in tracked]
        fired += len(ops)
    assert fired > 120  # most samples fired something: the comparison had parameters to compare


def test_operations_read_late_are_still_those_applied(xrays, xray224):
    """Other samples (bare images, boxes, other seeds) run between apply and the first read."""
    p = ImagePipeline.from_preset("xray")
    made = [p.apply(xrays[s % len(xrays)], 1000 + s) for s in range(40)]
    box = {"image": xray224, "bboxes": [[20, 20, 200, 200]], "keypoints": [[100.0, 100.0]]}
    for s in range(60):  # disturb every random state the pipeline holds
        p(xrays[s % len(xrays)], s)
        p.apply(box, s)[1].__len__()
    fresh = ImagePipeline.from_preset("xray")
    for s, (out, ops) in reversed(list(enumerate(made))):
        expected_out, expected = _tracked(fresh, xrays[s % len(xrays)], 1000 + s)
        assert np.array_equal(out, expected_out)
        assert list(ops) == expected


def test_lazy_operations_of_boxes_record_the_dropped_ones(xray224):
    p = ImagePipeline([A.Affine(translate_px={"x": (150, 150), "y": (0, 0)}, p=1.0)])
    src = {"image": xray224, "bboxes": [[10, 10, 40, 40], [100, 10, 120, 40]]}
    out, ops = p.apply(src, 4)
    assert out["bboxes"] and not ops.materialised
    assert [o.name for o in ops] == ["Affine", "bboxes_dropped"]
    assert ops[0] == _tracked(p, src, 4)[1][0] and ops[-1].params == {"dropped": [1]}


def test_lazy_operations_hold_the_source_until_read(xray224):
    import gc
    import weakref

    p = ImagePipeline.from_preset("xray")
    src = xray224.copy()
    alive = weakref.ref(src)
    variant, ops = p.apply(src, 5)
    del src, variant
    gc.collect()
    assert alive() is not None  # kept to work the parameters out on first read
    assert len(ops) >= 1
    gc.collect()
    assert alive() is None  # and let go once they are


def test_lazy_operations_pickle_copy_and_serialize_as_lists(xrays):
    import copy
    import pickle

    p = ImagePipeline.from_preset("xray")
    seeds = [s for s in range(20) if p.apply(xrays[0], s)[1]][:5]  # samples where something fired
    for s in seeds:
        _, ops = p.apply(xrays[1], s)
        again = pickle.loads(pickle.dumps(ops))  # read for the first time here, by pickling
        assert type(again) is list and again == ops and ops == again
        assert copy.deepcopy(p.apply(xrays[1], s)[1]) == ops
        assert ops[:1] + ops[1:] == list(ops) == [*ops] and ops[0] in ops
        assert repr(ops) == repr(list(ops)) and len(ops) == len(again)
    # in a Candidate: to_dict, pickling (DataLoader workers, Ray), the frame of a run
    variant, ops = p.apply(xrays[2], seeds[0])
    c = Candidate(0, 0, variant, 1, ops, seeds[0])
    expected = [o.to_dict() for o in _tracked(p, xrays[2], seeds[0])[1]]
    assert c.to_dict()["operations"] == expected
    json.dumps(c.to_dict()["operations"])
    variant, ops = p.apply(xrays[2], seeds[0])
    back = pickle.loads(pickle.dumps(Candidate(0, 0, variant, operations=ops, seed=seeds[0])))
    assert type(back.operations) is list and [o.to_dict() for o in back.operations] == expected
    cands, _ = Augmenter(p, n_variants=3).generate(as_sources(list(xrays[:4])))
    frame = AugmentResult(cands).to_frame()
    for cand, row in zip(cands, frame.itertuples(), strict=True):
        tracked = _tracked(p, xrays[cand.source_id], cand.seed)[1]
        assert row.operations == [o.to_dict() for o in tracked]
        assert row.op_chain == " > ".join(o.name for o in tracked)


# ---------------------------------------------------------------------------- targets
def _box_of(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=float)


@pytest.mark.parametrize("angle", [-25.0, 12.0, 40.0])
def test_bboxes_masks_and_keypoints_follow_the_rotation(xray224, angle):
    box = [60.0, 80.0, 140.0, 150.0]
    mask = np.zeros((224, 224), np.uint8)
    mask[80:150, 60:140] = 1
    spot = np.zeros((224, 224), np.uint8)
    spot[99:102, 149:152] = 255  # a 3x3 spot around keypoint (150, 100)
    p = ImagePipeline(
        [
            A.Rotate(
                limit=(angle, angle),
                p=1.0,
                border_mode=cv2.BORDER_REPLICATE,
                rotate_method="largest_box",
            )
        ]
    )
    payload = {
        "image": xray224,
        "mask": mask,
        "bboxes": [box],
        "bbox_labels": ["lesion"],
        "keypoints": [[150.0, 100.0]],
    }
    out, _ = p.apply(payload, seed=1)
    assert out["bbox_labels"] == ["lesion"]
    assert p(payload, seed=1)["bboxes"] == out["bboxes"]
    # the box is the enclosing box of the rotated rectangle = the box of the rotated mask
    assert np.allclose(out["bboxes"][0], _box_of(out["mask"]), atol=2.0)
    assert not np.allclose(out["bboxes"][0], box, atol=2.0)  # it moved
    # the keypoint lands where the marked spot went
    moved = p.apply({"image": spot, "keypoints": [[150.0, 100.0]]}, seed=1)[0]
    ys, xs = np.nonzero(moved["image"] > 60)
    assert abs(out["keypoints"][0][0] - xs.mean()) < 1.5
    assert abs(out["keypoints"][0][1] - ys.mean()) < 1.5
    # and mask and image moved together: the rotated mask covers the rotated rectangle's pixels
    assert out["mask"].shape == mask.shape and out["mask"].dtype == mask.dtype


def test_a_box_that_leaves_the_image_is_a_constraint_not_lost(xray224):
    p = ImagePipeline([A.Affine(translate_px={"x": (150, 150), "y": (0, 0)}, p=1.0)])
    src = {
        "image": xray224,
        "bboxes": [[10, 10, 40, 40], [100, 10, 120, 40]],
        "bbox_labels": [0, 1],
    }
    res = Augmenter(p, n_variants=1).generate([_source(src)])[0]
    out = res[0].payload
    assert out["bbox_labels"] == [0]  # box 1 moved past the right edge
    assert {"name": "bboxes_dropped", "params": {"dropped": [1]}} in [
        o.to_dict() for o in res[0].operations
    ]
    assert p.check(src, out) == "1 of 2 box(es) left the image"


def _source(payload):
    from augment.augmenter import Source

    return Source(0, payload, None)


# ---------------------------------------------------------------------------- image kinds
@pytest.mark.parametrize("preset", ["xray", "photo", "document"])
@pytest.mark.parametrize("kind", ["gray2d", "gray3d", "rgb", "float"])
def test_presets_keep_shape_dtype_and_channels(xray224, preset, kind):
    img = {
        "gray2d": xray224,
        "gray3d": xray224[:, :, None],
        "rgb": np.repeat(xray224[:, :, None], 3, axis=2),
        "float": xray224.astype(np.float32) / 255.0,
    }[kind]
    p = ImagePipeline.from_preset(preset)
    for seed in range(4):
        out, _ = p.apply(img, seed)
        assert out.shape == img.shape and out.dtype == img.dtype
        if kind == "float":
            assert 0.0 <= out.min() and out.max() <= 1.0


def test_xray_preset_never_flips_and_photo_does():
    names = lambda p: {type(t).__name__ for t in p.transforms}  # noqa: E731
    assert not {"HorizontalFlip", "VerticalFlip", "Transpose"} & names(
        ImagePipeline.from_preset("xray")
    )
    assert "HorizontalFlip" in names(ImagePipeline.from_preset("photo"))
    with pytest.raises(ValueError, match="unknown image preset 'ct'"):
        ImagePipeline.from_preset("ct")


# ---------------------------------------------------------------------------- serialization
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_serialized_pipeline_behaves_the_same(tmp_path, xrays, suffix):
    p = ImagePipeline.from_preset("photo", max_rotation=20)
    q = ImagePipeline.load(p.save(tmp_path / f"pipe{suffix}"))
    assert (
        q.to_dict()
        == p.to_dict()
        == ImagePipeline.from_dict(json.loads(json.dumps(p.to_dict()))).to_dict()
    )
    rgb = np.repeat(xrays[:4, :, :, None], 3, axis=3)
    for s, img in enumerate(rgb):
        a, ops_a = p.apply(img, s)
        b, ops_b = q.apply(img, s)
        assert np.array_equal(a, b)
        assert [o.to_dict() for o in ops_a] == [o.to_dict() for o in ops_b]


def test_pipelines_compose(xrays):
    extra = ImagePipeline([A.GaussNoise(std_range=(0.05, 0.05), p=1.0)], name="noise")
    both = ImagePipeline.from_preset("xray") + extra
    assert both.name == "xray+noise"
    assert [type(t).__name__ for t in both.transforms][-1] == "GaussNoise"
    out, ops = both.apply(xrays[0], 3)
    assert ops[-1].name == "GaussNoise" and out.shape == xrays[0].shape
    again = ImagePipeline.from_dict(json.loads(json.dumps(both.to_dict())))
    assert np.array_equal(again.apply(xrays[0], 3)[0], out)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        (np.zeros((28, 28), np.int64), TypeError, "dtype int64"),
        (np.zeros((28, 28), np.float16), TypeError, "dtype float16"),
        (np.zeros((28, 28, 2), np.uint8), ValueError, "2 channels"),
        (np.zeros((3, 28, 28, 1), np.uint8), ValueError, "4 dimensions"),
        (np.zeros((0, 28), np.uint8), ValueError, "empty"),
        (np.full((28, 28), np.nan, np.float32), ValueError, "784 NaN"),
        (np.full((28, 28), 3.0, np.float32), ValueError, r"must lie in \[0, 1\]"),
        ([[1, 2], [3, 4]], TypeError, "not a numpy array|mapping"),
        (None, TypeError, "is None"),
        (
            {"image": np.zeros((28, 28), np.uint8), "mask": np.zeros((20, 20), np.uint8)},
            ValueError,
            r"mask has shape \(20, 20\) but the image is 28x28",
        ),
        (
            {"image": np.zeros((28, 28), np.uint8), "bboxes": [[0, 0, 40, 10]]},
            ValueError,
            "box 0 .* not inside the 28x28 image",
        ),
        (
            {
                "image": np.zeros((28, 28), np.uint8),
                "bboxes": [[0, 0, 5, 5]],
                "bbox_labels": [1, 2],
            },
            ValueError,
            "2 bbox_labels for 1 bboxes",
        ),
        (
            {"image": np.zeros((28, 28), np.uint8), "keypoints": [[1.0, np.nan]]},
            ValueError,
            r"keypoints\[0\] contains NaN",
        ),
        (
            {"image": np.zeros((28, 28), np.uint8), "keypoints": [[3.0, 4.0], [28.0, 5.0]]},
            ValueError,
            r"keypoint 1 \[28.0, 5.0\] is not inside the 28x28 image",
        ),
        (
            {"image": np.zeros((28, 28), np.uint8), "keypoints": [[-0.5, 4.0]]},
            ValueError,
            "keypoint 0 .* not inside the 28x28 image",
        ),
        ({"img": np.zeros((28, 28), np.uint8)}, ValueError, "unknown payload key"),
    ],
)
def test_bad_input_gets_a_clear_error(payload, error, message):
    with pytest.raises(error, match=message):
        ImagePipeline.from_preset("xray").apply(payload, 0)


def test_bad_rows_are_recorded_not_dropped(xrays):
    sources = [xrays[0], np.zeros((28, 28, 2), np.uint8), xrays[1]]
    res = Augmenter(ImagePipeline.from_preset("xray"), n_variants=2).generate(
        __import__("augment.augmenter", fromlist=["as_sources"]).as_sources(sources)
    )
    cands, errors = res
    assert len(cands) == 4 and len(errors) == 2
    assert {e["source_id"] for e in errors} == {1}
    assert "2 channels" in errors[0]["error"]


def test_not_a_transform_is_named():
    with pytest.raises(TypeError, match="transform 1 is str"):
        ImagePipeline([A.RandomGamma(), "rotate"]).apply(np.zeros((8, 8), np.uint8), 0)


def test_draws_follow_the_configured_distributions(xrays):
    """One generator shared by all transforms: probabilities hold and draws are not correlated."""
    p = ImagePipeline.from_preset("xray")  # each transform fires with p=0.8, gamma with 0.48
    fired = {"Affine": [], "RandomBrightnessContrast": [], "RandomGamma": []}
    pairs = []
    for s in range(400):
        ops = {o.name: o.params for o in p.apply(xrays[0], sample_seed(5, "x", s))[1]}
        for name in fired:
            fired[name].append(name in ops)
        if "Affine" in ops and "RandomBrightnessContrast" in ops:
            pairs.append((ops["Affine"]["angle"], ops["RandomBrightnessContrast"]["alpha"]))
    assert abs(np.mean(fired["Affine"]) - 0.8) < 0.06
    assert abs(np.mean(fired["RandomBrightnessContrast"]) - 0.8) < 0.06
    assert abs(np.mean(fired["RandomGamma"]) - 0.48) < 0.07
    # transforms fire independently (one seed per transform would make them fire together)
    assert abs(np.corrcoef(fired["Affine"], fired["RandomBrightnessContrast"])[0, 1]) < 0.15
    angles, alphas = np.array(pairs).T
    assert abs(np.corrcoef(angles, alphas)[0, 1]) < 0.15
    assert angles.min() < -5 and angles.max() > 5  # the whole range is used


def test_used_pipeline_copies_pickles_and_agrees_across_paths(xray224):
    import pickle

    p = ImagePipeline.from_preset("xray")
    bare = [p.apply(xray224, s)[0] for s in range(3)]  # the bare-image Compose first
    with_box = [
        p.apply({"image": xray224, "bboxes": [[50, 50, 150, 150]]}, s)[0]["image"] for s in range(3)
    ]  # then the Compose with box processors, built from copies
    for a, b in zip(bare, with_box, strict=True):
        assert np.array_equal(a, b)  # the same seed draws the same image either way
    q = pickle.loads(pickle.dumps(p))
    assert all(np.array_equal(q.apply(xray224, s)[0], bare[s]) for s in range(3))
