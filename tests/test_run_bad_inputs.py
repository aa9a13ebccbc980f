"""A corpus of bad inputs (text, CSV, JSONL, Parquet, images, npz, configs), each written into a
fresh folder and run through the real `augment run` CLI. For every file: either the job is
refused with one line (exit 2) that names the file, the line or row and the cause, and nothing
is written; or it runs, and variants planned = accepted + rejected + errors, with each bad row's
error record naming its line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import pytest

from tests.run_helpers import SENTENCES, accounted, fatal_line, run_cli, write_job

Case = Callable[[Path], tuple[dict[str, Any], dict[str, Any]]]


def _csv(folder: Path, text: str | bytes, name: str = "in.csv") -> dict[str, Any]:
    p = folder / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return {"path": name}


def _rows(n: int = 6, sep: str = ",") -> list[str]:
    return [f"{s}{sep}{i % 2}" for i, s in enumerate(SENTENCES[:n])]


def _jsonl(folder: Path, lines: list[str]) -> dict[str, Any]:
    (folder / "in.jsonl").write_text(
        "\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass"
    )
    return {"path": "in.jsonl"}


def _good_jsonl(n: int = 5) -> list[str]:
    return [json.dumps({"text": s, "label": i % 2}) for i, s in enumerate(SENTENCES[:n])]


# ------------------------------------------------------------------ refused: (input, overrides)
FATAL: dict[str, tuple[Case, list[str]]] = {
    "csv_empty_file": (lambda f: (_csv(f, ""), {}), ["in.csv", "empty"]),
    "csv_header_only": (lambda f: (_csv(f, "text,label\n"), {}), ["in.csv", "no rows"]),
    "csv_unclosed_quote": (
        lambda f: (_csv(f, "text,label\n" + "\n".join(_rows(2)) + '\n"never closed,1\nx,0\n'), {}),
        ["in.csv line 4", "never closed"],
    ),
    "csv_latin1": (
        lambda f: (_csv(f, "text,label\nplain,0\ncaf\xe9 cr\xe8me,1\n".encode("latin-1")), {}),
        ["in.csv line 3", "not UTF-8", "0xe9"],
    ),
    "csv_missing_text_column": (
        lambda f: (_csv(f, "body,label\nhello,0\n"), {}),
        ["in.csv", "no column 'text'"],
    ),
    "csv_one_id_in_two_shards": (
        lambda f: (
            {
                **_csv(
                    f,
                    "id,text,label\n"
                    + "\n".join(f"{i if i != 4 else 1},{s},0" for i, s in enumerate(SENTENCES[:6]))
                    + "\n",
                ),
                "id_column": "id",
            },
            {},
        ),
        ["in.csv", "id '1'", "row 4 (line 6)", "row 1 (line 3)", "unique"],
    ),
    "jsonl_ids_1_and_quoted_1": (
        lambda f: (
            {
                **_jsonl(
                    f,
                    [
                        json.dumps({"id": 1, "text": "a b c", "label": 0}),
                        json.dumps({"id": "1", "text": "d e f", "label": 1}),
                    ],
                ),
                "id_column": "id",
            },
            {},
        ),
        ["in.jsonl", "id '1'", "line 2", "line 1"],
    ),
    "jsonl_without_the_label_key": (
        lambda f: (_jsonl(f, [json.dumps({"text": s}) for s in SENTENCES[:3]]), {}),
        ["in.jsonl", "no row has a 'label' value"],
    ),
    "jsonl_empty_file": (
        lambda f: ((f / "in.jsonl").write_text("") or {"path": "in.jsonl"}, {}),
        ["in.jsonl", "no rows"],
    ),
    "tsv_declared_as_parquet": (
        lambda f: ({**_csv(f, "text\tlabel\na\t0\n", "in.tsv"), "format": "parquet"}, {}),
        ["in.tsv", "not a Parquet file"],
    ),
    "npz_labels_of_the_wrong_length": (
        lambda f: (
            np.savez(
                f / "in.npz", train_images=np.zeros((4, 8, 8), np.uint8), train_labels=np.zeros(3)
            )
            or {"path": "in.npz"},
            {"modality": "image", "pipeline": {"preset": "xray"}},
        ),
        ["in.npz", "3 labels", "4 images"],
    ),
    "npz_that_is_text": (
        lambda f: (
            (f / "in.npz").write_text("not an archive") and {"path": "in.npz"},
            {"modality": "image", "pipeline": {"preset": "xray"}},
        ),
        ["in.npz", "not a readable .npz"],
    ),
    "npz_missing_array": (
        lambda f: (
            np.savez(f / "in.npz", images=np.zeros((2, 8, 8), np.uint8)) or {"path": "in.npz"},
            {"modality": "image", "pipeline": {"preset": "xray"}},
        ),
        ["in.npz", "no array 'train_images'"],
    ),
    "config_min_above_max": (
        lambda f: (
            _csv(f, "text,label\na b,0\n"),
            {"filter": {"min_similarity": 0.9, "max_similarity": 0.5}},
        ),
        ["filter", "min_similarity 0.9 is above max_similarity 0.5"],
    ),
    "config_unknown_preset": (
        lambda f: (_csv(f, "text,label\na b,0\n"), {"pipeline": {"preset": "zz"}}),
        ["pipeline", "'zz'"],
    ),
    "config_unknown_option": (
        lambda f: (
            _csv(f, "text,label\na b,0\n"),
            {"pipeline": {"preset": "eda", "options": {"colour": 1}}},
        ),
        ["pipeline", "colour"],
    ),
    "config_device_cuda7": (
        lambda f: (_csv(f, "text,label\na b,0\n"), {"filter": {"device": "cuda:7"}}),
        ["filter.device 'cuda:7'", "CUDA device"],
    ),
    "config_unknown_backend": (
        lambda f: (_csv(f, "text,label\na b,0\n"), {"filter": {"backend": "tensorrt"}}),
        ["filter.backend", "'auto', 'onnx', 'openvino' or 'torch'"],
    ),
    "config_openvino_for_text": (
        lambda f: (_csv(f, "text,label\na b,0\n"), {"filter": {"backend": "openvino"}}),
        ["backend openvino", "runs the default image network only"],
    ),
    "config_unknown_key": (
        lambda f: ({**_csv(f, "text,label\na b,0\n"), "colour": 1}, {}),
        ["input.colour", "Extra inputs are not permitted"],
    ),
    "config_boolean_n_variants": (
        lambda f: (_csv(f, "text,label\na b,0\n"), {"targeting": {"n_variants": True}}),
        ["targeting.n_variants", "True"],
    ),
    "config_csv_for_images": (
        lambda f: (
            _csv(f, "text,label\na b,0\n"),
            {"modality": "image", "pipeline": {"preset": "xray"}},
        ),
        ["input format 'csv': modality 'image' reads images, npz"],
    ),
}


@pytest.mark.parametrize("name", sorted(FATAL))
def test_refused_with_one_line_naming_file_and_cause(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case, expected = FATAL[name]
    input_cfg, overrides = case(tmp_path)
    write_job(tmp_path, input_cfg, **overrides)
    rc, _, err = run_cli(capsys, "job.yaml")
    line = fatal_line(err)
    assert rc == 2, err
    for text in expected:
        assert text in line, (text, line)
    assert not (tmp_path / "out").exists(), "nothing may be written for a refused job"


def test_a_config_that_is_not_yaml(tmp_path, capsys):
    (tmp_path / "job.yaml").write_text("input: [unclosed\n")
    rc, _, err = run_cli(capsys, str(tmp_path / "job.yaml"))
    assert rc == 2 and "not valid YAML" in fatal_line(err) and "job.yaml" in err


# ------------------------------------------------------------------ run, with rows named
ROWS: dict[str, tuple[Case, int, list[str]]] = {
    # name: (writer, rows in the input, what the error records name)
    "csv_ragged_row": (
        lambda f: (_csv(f, "text,label\n" + "\n".join(_rows(4)) + "\none,two,three\n"), {}),
        5,
        ["in.csv line 6: 3 fields, the header has 2"],
    ),
    "tsv_blank_line": (
        lambda f: (
            _csv(
                f,
                "text\tlabel\n"
                + "\n".join(_rows(2, "\t"))
                + "\n\n"
                + "\n".join(_rows(6, "\t")[2:])
                + "\n",
                "in.tsv",
            ),
            {},
        ),
        7,
        ["in.tsv line 4: the line is blank"],
    ),
    "csv_quote_inside_quoted_field": (
        lambda f: (_csv(f, "text,label\n" + "\n".join(_rows(3)) + '\n"ab"c,1\n'), {}),
        4,
        ["in.csv line 5: not valid CSV"],
    ),
    "jsonl_broken_line": (
        lambda f: (_jsonl(f, [*_good_jsonl(3), '{"text": "cut off', *_good_jsonl(5)[3:]]), {}),
        6,
        ["in.jsonl line 4: not valid JSON"],
    ),
    "jsonl_lone_surrogate": (
        lambda f: (_jsonl(f, [*_good_jsonl(3), '{"text": "x \\ud800 y", "label": 1}']), {}),
        4,
        ["in.jsonl line 4: 'text' holds a lone surrogate (U+D800"],
    ),
    "jsonl_null_text_and_array_line": (
        lambda f: (_jsonl(f, [*_good_jsonl(3), '{"text": null, "label": 1}', "[1, 2]"]), {}),
        5,
        ["in.jsonl line 4: 'text' is missing (null)", "in.jsonl line 5: a JSON list"],
    ),
    "jsonl_every_line_broken": (
        lambda f: (_jsonl(f, ["{", "{", "nope"]), {}),
        3,
        ["in.jsonl line 1", "in.jsonl line 3"],
    ),
    "parquet_null_text": (
        lambda f: (
            pd.DataFrame({"text": [*SENTENCES[:3], None], "label": [0, 1, 0, 1]}).to_parquet(
                f / "in.parquet"
            )
            or {"path": "in.parquet"},
            {},
        ),
        4,
        ["in.parquet row 3: 'text' is missing (null)"],
    ),
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_bad_rows_are_named_and_every_variant_accounted(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case, n_rows, named = ROWS[name]
    input_cfg, overrides = case(tmp_path)
    write_job(tmp_path, input_cfg, **overrides)
    rc, out, err = run_cli(capsys, "job.yaml")
    assert "Traceback" not in err
    c = accounted(tmp_path / "out")
    assert c["rows"] == n_rows and c["planned"] == 2 * n_rows  # rows in x variants planned
    messages = [r["error"] for r in c["raw_errors"]]
    for text in named:
        assert sum(m.startswith(text) for m in messages) == 2, (text, messages)  # one a variant
    assert c["row_errors"] == len({(r["row"]) for r in c["raw_errors"] if r["stage"] == "read"})
    if c["candidates"]:
        assert rc == 0, err
    else:  # nothing could be made: said so, exit 2
        assert rc == 2 and "no candidate" in fatal_line(err)


def test_blank_line_keeps_the_row_ids_after_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case = ROWS["tsv_blank_line"][0]
    write_job(tmp_path, case(tmp_path)[0], **{"targeting": {"n_variants": 1}})
    assert run_cli(capsys, "job.yaml")[0] == 0
    tables = accounted(tmp_path / "out")["tables"]
    both = pd.concat([tables["accepted"], tables["rejected"]])
    by_id = dict(zip(both.source_id, both.label))
    # row 2 is the blank line; the TSV's 3rd sentence is row 3, its id "3" (not "2")
    assert "2" not in by_id and set(by_id) == {"0", "1", "3", "4", "5", "6"}
    assert tables["errors"].row.tolist() == [2] and tables["errors"].line.tolist() == [4]


# ------------------------------------------------------------------ images
def _png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR if img.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    cv2.imwrite(str(path), img)


def test_image_folder_with_a_corrupt_file_and_tricky_names(tmp_path, capsys, monkeypatch):
    """A corrupt image is two error records (two variants planned); ``a/b.png`` and
    ``a__b.png`` get files of their own; a 249-character nested path is a row like any other;
    an RGBA source keeps its channel order and its alpha."""
    from augment.image import ImagePipeline
    from augment.image.files import read_image

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    folder = tmp_path / "imgs"
    gray = [rng.integers(0, 255, (32, 32), dtype=np.uint8) for _ in range(3)]
    _png(folder / "a" / "b.png", gray[0])
    _png(folder / "a__b.png", gray[1])
    deep = "/".join(["d" * 80, "e" * 80, "f" * 80])  # 242 characters + "/g.png" = 248
    _png(folder / deep / "g.png", gray[2])
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 220, 60, 10, 128
    _png(folder / "rgba.png", rgba)
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    (folder / "notes.txt").write_text("not an image")
    write_job(
        tmp_path,
        {"path": "imgs"},
        modality="image",
        pipeline={"preset": "xray"},
        filter={"min_similarity": 0.5, "max_similarity": 0.999},
    )
    rc, _, err = run_cli(capsys, "job.yaml")
    assert rc == 0, err
    assert "1 file(s)" in err and ".txt" in err  # the file not read is said, not dropped
    c = accounted(tmp_path / "out")
    assert c["rows"] == 5 and c["planned"] == 10 and c["errors"] == 2 and c["row_errors"] == 1
    errs = c["tables"]["errors"]
    assert set(errs.source_id) == {"broken.png"} and errs.variant.tolist() == [0, 1]
    both = pd.concat([c["tables"]["accepted"], c["tables"]["rejected"]])
    assert both.payload.is_unique and len(both) == 8
    assert {f"{deep}/g.png", "a/b.png", "a__b.png", "rgba.png"} == set(both.source_id)
    pipe = ImagePipeline.from_preset("xray")
    for row in both.itertuples():
        written = read_image(tmp_path / "out" / row.payload)
        expected, _ = pipe.apply(read_image(folder / row.source_id), int(row.seed))
        assert np.array_equal(written, expected), row.source_id  # channel order kept
        if row.source_id == "rgba.png":
            assert written.shape == (32, 32, 4) and (written[..., 3] == 128).all()
            assert written[..., 0].mean() > written[..., 2].mean()  # red stays red
