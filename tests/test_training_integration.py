"""AugmentedDataset under a real multi-worker DataLoader, Hugging Face datasets, leakage guard."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from augment.leakage import (
    LeakageError,
    check_leakage,
    find_leaks,
    group_split,
    split_of_variants,
)
from augment.text import RandomDeletion, RandomSwap, TextPipeline
from augment.torch import AugmentedDataset, CappedBatchSampler, collate_images, collate_text
from fidelity import FidelityFilter
from tests.conftest import read_labelled


@pytest.fixture(scope="module")
def cr_frame(shared_data):
    labels, texts = read_labelled(shared_data / "text" / "cr" / "train.txt", limit=40)
    return pd.DataFrame({"text": texts, "label": labels})


def _epoch(loader, sampler, epoch):
    sampler.set_epoch(epoch)
    rows = []
    for batch in loader:
        rows += list(zip(batch["text"], batch["is_augmented"].tolist()))
    return rows


def test_two_worker_dataloader_gives_the_same_augmented_epoch_twice(cr_frame, text_encoder):
    flt = FidelityFilter(text_encoder, 0.6, 0.99)
    ds = AugmentedDataset(
        cr_frame,
        TextPipeline([RandomSwap(0.2)]),
        flt,
        n_variants=2,
        random_state=7,
        return_info=True,
    ).prepare()
    sampler = CappedBatchSampler(ds, batch_size=8, max_augmented_share=0.5, random_state=3)
    loader = DataLoader(ds, batch_sampler=sampler, num_workers=2, collate_fn=collate_text)
    first = _epoch(loader, sampler, 0)
    again = _epoch(loader, sampler, 0)
    other = _epoch(loader, sampler, 1)
    assert first == again
    assert first != other
    originals = [t for t, aug in first if not aug]
    variants = [t for t, aug in first if aug]
    assert sorted(originals) == sorted(cr_frame.text)  # every original once per epoch
    assert variants and all(v not in set(cr_frame.text) for v in variants)
    # cap: at most half of each batch is augmented
    for batch in sampler:
        assert sum(ds.is_augmented(i) for i in batch) <= 4


def test_rejected_variants_are_retried_then_fall_back_with_a_reason(cr_frame, text_encoder):
    strict = FidelityFilter(text_encoder, 0.999, 0.9999)  # nothing realistic passes
    ds = AugmentedDataset(
        cr_frame.head(3),
        TextPipeline([RandomDeletion(0.3)]),
        strict,
        n_variants=1,
        max_attempts=2,
        return_info=True,
    )
    item = ds[3]
    assert item["is_augmented"] is False and item["payload"] == cr_frame.text[0]
    assert "fallback to original: 2 attempts rejected" in item["detail"]


def test_plan_drives_how_many_slots_each_row_gets(cr_frame, text_encoder):
    plan = pd.DataFrame({"source_id": [0, 1, 2], "n_variants": [3, 0, 1]})
    ds = AugmentedDataset(cr_frame.head(3), TextPipeline([RandomSwap(0.2)]), n_variants=plan)
    assert ds.slots == [(0, 0), (0, 1), (0, 2), (2, 0)] and len(ds) == 7


def test_collate_images_stacks_channels_first():
    batch = [
        (torch.zeros(4, 4, dtype=torch.uint8).numpy() + 255, 1),
        (torch.zeros(4, 4, dtype=torch.uint8).numpy(), 0),
    ]
    out = collate_images(batch)
    assert out["image"].shape == (2, 1, 4, 4) and out["image"].max() == 1.0
    assert out["label"].tolist() == [1, 0]
    with pytest.raises(ValueError, match="image 1 has shape"):
        collate_images([(torch.zeros(4, 4).numpy(), 0), (torch.zeros(5, 4).numpy(), 0)])


def test_hugging_face_map_adds_filtered_variants(cr_frame, text_encoder):
    datasets = pytest.importorskip("datasets")
    from augment.hf import augment_batch

    ds = datasets.Dataset.from_pandas(cr_frame.head(6))
    fn = augment_batch(
        TextPipeline([RandomSwap(0.2)]),
        FidelityFilter(text_encoder, 0.6, 0.99),
        n_variants=2,
        random_state=1,
    )
    out = ds.map(fn, batched=True, batch_size=4, with_indices=True)
    df = out.to_pandas()
    assert (~df.is_augmented).sum() == 6
    aug = df[df.is_augmented]
    assert len(aug) >= 6 and set(aug.reason) == {"accepted"}
    for row in aug.itertuples():  # labels follow their source
        assert row.label == cr_frame.label[row.source_index]
    again = ds.map(fn, batched=True, batch_size=3, with_indices=True).to_pandas()
    assert again.text.tolist() == df.text.tolist()  # batch size does not change the output


def test_planner_gives_the_rare_trec_class_the_largest_share(shared_data):
    from augment.targeting import plan_by_balance

    labels, _ = read_labelled(shared_data / "text" / "trec" / "train.txt")
    plan = plan_by_balance(labels, budget=3000, random_state=0)
    per_class = plan.groupby("label").n_variants.sum()
    assert per_class.idxmax() == 2
    assert plan.n_variants.sum() == 3000
    per_row = plan.groupby("label").n_variants.mean()
    assert per_row.idxmax() == 2 and per_row[2] > 10 * per_row.drop(2).max()


def test_weakness_planner_sends_budget_to_the_worse_slice():
    from augment.targeting import plan_by_weakness

    frame = pd.DataFrame(
        {"segment": ["a"] * 50 + ["b"] * 50, "correct": [1] * 45 + [0] * 5 + [1] * 25 + [0] * 25}
    )
    plan = plan_by_weakness(frame, "segment", budget=300, correct="correct")
    sums = plan.groupby("slice").n_variants.sum()
    assert sums["b"] > 4 * sums["a"] and sums.sum() == 300
    with pytest.raises(ValueError, match="exactly one"):
        plan_by_weakness(frame, "segment", budget=10)


def test_leakage_check_catches_a_planted_leak(shared_data, text_encoder):
    labels, texts = read_labelled(shared_data / "text" / "trec" / "train.txt", limit=300)
    train, test = group_split(list(range(len(texts))), test_size=0.2, random_state=0)
    train_texts = [texts[i] for i in train]
    test_texts = [texts[i] for i in test]
    variants = [t.replace("?", " ?") for t in train_texts[:20]]
    # TREC itself holds a few near-identical questions; they are found, and nothing else is
    natural = find_leaks(train_texts, test_texts, variants, encoder=text_encoder)
    assert all(leak.similarity >= 0.95 for leak in natural) and len(natural) < 5
    leaked = test_texts + [variants[3].lower(), train_texts[10]]
    with pytest.raises(LeakageError) as err:
        check_leakage(train_texts, leaked, variants, encoder=text_encoder)
    msg = str(err.value)
    assert f"eval row {len(test_texts)} is" in msg
    assert f"eval row {len(test_texts) + 1} is identical to training source" in msg
    planted = find_leaks(train_texts, leaked, variants, encoder=text_encoder)
    assert len(planted) == len(natural) + 2
    assert split_of_variants([0, 0, 1], {0: "train", 1: "test"}) == ["train", "train", "test"]
