"""The one augmentation core and the modality records.

Reproduces issue 13: an image ``AugmentedDataset`` or ``augment_batch`` without a filter used to
judge X-rays with the text encoder (every variant ``invalid``, only originals served), and a
text variant that broke a protected span (``on_broken="keep"``) was kept by the training
integrations while ``Augmenter`` rejected it. Now every way in judges through
``augment.augmenter.judge``: the pipeline's check, then the modality's filter.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from augment import Augmenter
from augment.augmenter import judge, make_candidates, variant_requests
from augment.candidate import Source
from augment.hf import augment_batch
from augment.image import IMAGE, ImagePipeline
from augment.pipeline import modality_named, modality_of
from augment.run import Job, RunConfig, load_tables
from augment.text import TEXT, TextOperation, TextPipeline
from augment.torch import AugmentedDataset
from fidelity.encoders.image import RECOMMENDED_BAND, ImageEncoder

REPO = Path(__file__).resolve().parents[1]
TEXTS = ["Pay $1,200 by Friday.", "The fee is $300 per month."]


class BumpAmount(TextOperation):
    """Works on the raw text and raises every amount's first digit: it breaks a protected span
    on purpose, which the pipeline records (``broke``) and, with ``on_broken="keep"``, keeps."""

    name = "bump_amount"
    masks_protected = False

    def __init__(self) -> None:  # no parameters (serialized by its constructor's)
        pass

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        out = text.replace("$1", "$2").replace("$3", "$4")
        return out, {"bumped": out != text}


def breaking_pipeline() -> TextPipeline:
    return TextPipeline([BumpAmount()], on_broken="keep")


@pytest.fixture(scope="module")
def xrays(shared_data) -> np.ndarray:
    path = shared_data / "image" / "pneumoniamnist.npz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with np.load(path) as d:
        return d["train_images"][:3]


@pytest.fixture(scope="module")
def image_encoder() -> ImageEncoder:
    return ImageEncoder()


# ---------------------------------------------------------------------------- the bug, images
def test_image_dataset_without_a_filter_serves_variants_judged_by_the_image_encoder(xrays):
    frame = pd.DataFrame({"image": list(xrays), "label": [0, 1, 0]})
    ds = AugmentedDataset(
        frame,
        ImagePipeline.from_preset("xray"),
        n_variants=2,
        payload_column="image",
        return_info=True,
    )
    items = ds.__getitems__(list(range(len(ds))))
    variants = [it for it in items[3:]]
    assert isinstance(ds.fidelity_filter.encoder, ImageEncoder)
    assert ds.fidelity_filter.band == RECOMMENDED_BAND
    accepted = [it for it in variants if it["is_augmented"]]
    assert len(accepted) >= 4, [(it["reason"], it["detail"]) for it in variants]
    for it in accepted:
        assert it["reason"] == "accepted"
        assert (
            RECOMMENDED_BAND.min_similarity <= it["similarity"] <= RECOMMENDED_BAND.max_similarity
        )
        assert it["payload"].shape == (28, 28) and not np.array_equal(
            it["payload"], xrays[it["source_index"]]
        )


def test_image_augment_batch_without_a_filter_keeps_variants_judged_by_the_image_encoder(
    xrays, image_encoder
):
    pipe = ImagePipeline.from_preset("xray")
    fn = augment_batch(pipe, n_variants=2, column="image", keep_rejected=True)
    out = fn({"image": list(xrays), "label": [0, 1, 0]}, [0, 1, 2])
    reasons = out["reason"]
    assert len(reasons) == 3 + 6 and reasons.count("original") == 3
    assert "invalid" not in reasons and reasons.count("accepted") >= 4
    # the same verdicts as the image filter gives directly (the image encoder judged them)
    aug = [i for i, a in enumerate(out["is_augmented"]) if a]
    direct = IMAGE.default_filter()
    direct.encoder = image_encoder
    verdicts = direct.judge(
        [xrays[out["source_index"][i]] for i in aug], [out["image"][i] for i in aug]
    )
    assert [v.reason.value for v in verdicts] == [reasons[i] for i in aug]
    assert np.allclose(
        [v.similarity for v in verdicts], [out["similarity"][i] for i in aug], atol=1e-5
    )


# ---------------------------------------------------------------------------- the bug, text
def test_a_broken_protected_span_is_a_constraint_in_the_augmenter():
    result = Augmenter(breaking_pipeline(), n_variants=2).run(TEXTS)
    assert [c.verdict.reason.value for c in result.candidates] == ["constraint"] * 4
    assert all(
        "$1,200" in c.verdict.detail or "$300" in c.verdict.detail for c in result.candidates
    )
    verdicts = Augmenter(breaking_pipeline(), n_variants=1).judge(
        [Source(0, TEXTS[0])], result.candidates[:1]
    )
    assert [v.reason.value for v in verdicts] == ["constraint"]  # judge returns verdicts


def test_a_broken_protected_span_is_a_constraint_in_the_dataset():
    frame = pd.DataFrame({"text": TEXTS, "label": [0, 1]})
    ds = AugmentedDataset(frame, breaking_pipeline(), n_variants=1, return_info=True)
    items = [ds[i] for i in range(len(ds))]
    assert [it["is_augmented"] for it in items] == [False] * 4  # never served
    assert [it["reason"] for it in items[2:]] == ["constraint", "constraint"]
    assert "fallback to original" in items[2]["detail"]


def test_a_broken_protected_span_is_a_constraint_in_augment_batch():
    fn = augment_batch(breaking_pipeline(), n_variants=1, keep_rejected=True)
    out = fn({"text": TEXTS, "label": [0, 1]}, [0, 1])
    assert out["reason"] == ["original", "constraint", "original", "constraint"]
    kept = augment_batch(breaking_pipeline(), n_variants=1)(
        {"text": TEXTS, "label": [0, 1]}, [0, 1]
    )
    assert kept["text"] == TEXTS  # without keep_rejected only the originals


def test_a_broken_protected_span_is_a_constraint_in_augment_run(tmp_path):
    pd.DataFrame({"text": TEXTS, "label": ["a", "b"]}).to_csv(tmp_path / "in.csv", index=False)
    cfg = RunConfig.from_dict(
        {
            "input": {"path": str(tmp_path / "in.csv")},
            "pipeline": {"spec": breaking_pipeline().to_dict()},
            "targeting": {"n_variants": 2},
            "output": str(tmp_path / "out"),
        }
    )
    manifest = Job(cfg, show_progress=False).run()
    tables = load_tables(tmp_path / "out")
    assert tables["accepted"].empty
    assert tables["rejected"].reason.tolist() == ["constraint"] * 4
    assert manifest["summary"]["reasons"] == {"constraint": 4}  # the result's own summary
    assert manifest["summary"]["operations"] == {"bump_amount": [4, 0]}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| constraint | 4 |" in report and "| bump_amount | 4 | 0 | 0.0 |" in report


# ---------------------------------------------------------------------------- the blocks
def test_make_candidates_records_a_failing_row_and_goes_on():
    pipe = TextPipeline.from_preset("eda")
    made, errors = make_candidates(
        pipe, variant_requests([Source("a", "Fine text here."), Source("b", 42)], 2, 0)
    )
    assert [c.candidate_id for c in made] == ["a:0", "a:1"]
    assert [(e["source_id"], e["variant"]) for e in errors] == [("b", 0), ("b", 1)]
    assert all(e["error"].startswith("TypeError") for e in errors)


def test_judge_does_not_build_a_filter_when_every_pair_broke_a_rule():
    def no_filter():
        raise AssertionError("the filter was built")

    pipe = breaking_pipeline()
    cands = [pipe(t, 0) for t in TEXTS]
    assert [v.reason.value for v in judge(pipe, no_filter, TEXTS, cands)] == ["constraint"] * 2


def test_modality_records_are_found_by_pipeline_type_and_by_name():
    assert modality_of(TextPipeline.from_preset("eda")) is TEXT is modality_named("text")
    assert modality_of(ImagePipeline.from_preset("xray")) is IMAGE is modality_named("image")
    with pytest.raises(ValueError, match="unknown modality 'audio'"):
        modality_named("audio")
    with pytest.raises(ValueError, match="modality"):
        RunConfig.from_dict(
            {
                "input": {"path": "x.csv"},
                "modality": "audio",
                "pipeline": {"preset": "eda"},
                "output": "o",
            }
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda: TextPipeline.from_preset("legal", glossary=["the Tenant"]),
        lambda: ImagePipeline.from_preset("xray", max_rotation=5),
    ],
)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_text_and_image_pipelines_share_one_surface(tmp_path, make, suffix):
    pipe = make()
    d = pipe.to_dict()
    assert list(d)[:2] == ["type", "version"] and d["version"] == 1
    loaded = type(pipe).load(pipe.save(tmp_path / f"pipe{suffix}"))
    assert loaded.to_dict() == d
    payload = (
        "The Tenant shall not pay $1,200."
        if isinstance(pipe, TextPipeline)
        else (np.arange(28 * 28, dtype=np.uint8).reshape(28, 28))
    )
    assert np.array_equal(np.asarray(pipe(payload, 3)), np.asarray(pipe.apply(payload, 3)[0]))
    assert np.array_equal(np.asarray(loaded(payload, 3)), np.asarray(pipe(payload, 3)))
    with pytest.raises(ValueError, match="newer"):
        type(pipe).from_dict({**d, "version": 99})


# ---------------------------------------------------------------------------- structure
def _module_imports(root: Path) -> dict[str, set[str]]:
    """Module -> the library modules it imports (at the top or inside a function)."""
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        mod = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[mod] = {d for d in deps if d.split(".")[0] in ("augment", "fidelity")}
    return graph


def test_no_import_circle_between_modules():
    graph = {**_module_imports(REPO / "augment"), **_module_imports(REPO / "fidelity")}
    for mod in graph:  # a package's submodule may import its package's __init__ in any order
        graph[mod] = {d for d in graph[mod] if not mod.startswith(d + ".") and d in graph}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in graph[m]:
            if state.get(d) == 1:
                raise AssertionError(" -> ".join([*path[path.index(d) :], d]))
            if d not in state:
                visit(d, [*path, d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_no_modality_if_chains_outside_the_modality_records():
    hits = []
    for root in ("augment", "fidelity"):
        for path in (REPO / root).rglob("*.py"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "modality ==" in line or '== "image"' in line:
                    hits.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not hits, hits


def test_a_persona_result_reads_like_an_augment_result():
    from augment.persona import PersonaSynthesizer

    table = pd.read_csv(REPO / "augment" / "examples" / "persona" / "customers.csv")
    synth = PersonaSynthesizer(rules=["age >= 18"], id_column="customer_id").fit(table)
    result = synth.generate("age >= 65", 6, interactions=False)
    assert len(result.accepted) == len(result.personas) == 6
    assert all(c.accepted for c in result.accepted) and result.candidates is result.candidates
    frame = result.to_frame()
    assert len(frame) == len(result.verdicts) == len(result.candidates)
    assert frame.accepted.sum() == 6 and frame.reason.tolist() == [
        c.verdict.reason.value for c in result.candidates
    ]
    assert result.summary()["count"].sum() == len(frame)


def test_augment_run_accepts_a_persona_job(tmp_path):
    examples = REPO / "augment" / "examples" / "persona"
    cfg = RunConfig.from_dict(
        {
            "input": {"path": str(examples / "customers.csv")},
            "modality": "persona",
            "persona": {
                "segment": "age >= 65",
                "n": 10,
                "synthesizer": {"rules": ["age >= 18"], "id_column": "customer_id"},
                "interactions": str(examples / "purchases.csv"),
            },
            "seed": 3,
            "output": str(tmp_path / "out"),
        }
    )
    job = Job(cfg, show_progress=False)
    assert "persona section" in job.plan().describe(cfg)
    manifest = job.run()
    tables = load_tables(tmp_path / "out")
    assert len(tables["accepted"]) == 10 and manifest["counts"]["accepted"] == 10
    assert manifest["counts"]["candidates"] == 10 + len(tables["rejected"])
    assert sum(manifest["summary"]["reasons"].values()) == manifest["counts"]["candidates"]
    assert (tables["accepted"].age >= 65).all()
    assert (tmp_path / "out" / "interactions.parquet").is_file()
    assert Job(cfg).run() == manifest  # a finished job is not run again
    with pytest.raises(ValueError, match="persona"):
        RunConfig.from_dict({"input": {"path": "x.csv"}, "modality": "persona", "output": "o"})
