"""Model backends on tiny randomly initialised models that the tests build and save: the real
loading and generation code runs, only the weights are small and untrained."""

from __future__ import annotations

from pathlib import Path

import pytest

from augment.text import ProtectedSpans, TextPipeline
from augment.text.backends import MarianBackTranslation, MaskedLMSubstitution, Seq2SeqParaphrase

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

WORDS = (
    "the a tenant landlord shall not pay rent film movie was is good bad happy sad great "
    "terrible and of to in it this that very quite fine nice day"
).split()
SENTENCE = "the film was good and the day was very nice"


def _fast_tokenizer(folder: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<pad>", "</s>", "<unk>", *WORDS])}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", 1)]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    ).save_pretrained(folder)


def _seq2seq(folder: Path, kind: str, seed: int) -> str:
    from transformers import (
        BartConfig,
        BartForConditionalGeneration,
        MarianConfig,
        MarianMTModel,
        T5Config,
        T5ForConditionalGeneration,
    )

    n = len(WORDS) + 3
    torch.manual_seed(seed)
    if kind == "marian":
        cfg = MarianConfig(
            vocab_size=n,
            d_model=16,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            max_position_embeddings=64,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
        model = MarianMTModel(cfg)
    elif kind == "t5":
        cfg = T5Config(
            vocab_size=n,
            d_model=16,
            d_ff=32,
            d_kv=8,
            num_layers=1,
            num_heads=2,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
        model = T5ForConditionalGeneration(cfg)
    else:
        cfg = BartConfig(
            vocab_size=n,
            d_model=16,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            max_position_embeddings=64,
            pad_token_id=0,
            eos_token_id=1,
            bos_token_id=1,
            decoder_start_token_id=1,
            forced_eos_token_id=1,
        )
        model = BartForConditionalGeneration(cfg)
    model.save_pretrained(folder)
    _fast_tokenizer(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"0123456789", *".,$%"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertForMaskedLM(cfg).save_pretrained(folder)
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("seq2seq")
    return {
        "en-xx": _seq2seq(root / "marian-en-xx", "marian", 1),
        "xx-en": _seq2seq(root / "marian-xx-en", "marian", 2),
        "t5": _seq2seq(root / "t5", "t5", 3),
        "bart": _seq2seq(root / "bart", "bart", 4),
    }


OFF = ProtectedSpans.disabled()


def test_masked_lm_substitutes_words_from_the_model(tiny_bert):
    pipe = TextPipeline(
        [MaskedLMSubstitution(tiny_bert, model_type="bert", aug_p=0.4, top_k=5)], OFF
    )
    outs = [pipe.apply(SENTENCE, s) for s in range(4)]
    assert pipe.apply(SENTENCE, 3) == outs[3]  # seeded
    changed = [out for out, _ in outs if out != SENTENCE]
    assert changed and len({o for o, _ in outs}) > 1
    vocab = set(WORDS) | set(".,$%0123456789")
    for out, ops in outs:
        assert set(out.replace(".", " . ").split()) <= vocab | {"[UNK]"}
        assert ops[0].params["model"] == tiny_bert
    loaded = TextPipeline.from_yaml(pipe.to_yaml())
    assert loaded.apply(SENTENCE, 3) == outs[3]


def test_masked_lm_never_breaks_a_protected_span(tiny_bert):
    pipe = TextPipeline([MaskedLMSubstitution(tiny_bert, model_type="bert", aug_p=0.5, top_k=5)])
    src = "the tenant shall not pay the rent"
    for s in range(4):
        out, ops = pipe.apply(src, s)
        assert pipe.check(src, out) is None
        if "broke" in ops[0].params:
            assert out == src and ops[0].params["reverted"] is True


def test_marian_back_translation_round_trip(tiny_models):
    op = MarianBackTranslation(
        tiny_models["en-xx"], tiny_models["xx-en"], num_beams=2, max_new_tokens=8
    )
    pipe = TextPipeline([op], OFF)
    out, ops = pipe.apply(SENTENCE, 0)
    assert isinstance(out, str) and ops[0].params["pivot_text"] is not None
    assert pipe.apply(SENTENCE, 99)[0] == out  # beam search: the same for every seed
    sampled = TextPipeline(
        [
            MarianBackTranslation(
                tiny_models["en-xx"],
                tiny_models["xx-en"],
                num_beams=1,
                do_sample=True,
                max_new_tokens=8,
            )
        ],
        OFF,
    )
    draws = [sampled.apply(SENTENCE, s)[0] for s in range(4)]
    assert sampled.apply(SENTENCE, 2)[0] == draws[2] and len(set(draws)) > 1
    assert set(" ".join(draws).split()) <= set(WORDS)


@pytest.mark.parametrize("kind,prefix", [("t5", "paraphrase: "), ("bart", "")])
def test_seq2seq_paraphrase_is_seeded(tiny_models, kind, prefix):
    rng_before = torch.random.get_rng_state()
    pipe = TextPipeline(
        [Seq2SeqParaphrase(tiny_models[kind], prefix=prefix, max_new_tokens=10)], OFF
    )
    draws = [pipe.apply(SENTENCE, s)[0] for s in range(5)]
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # caller's state untouched
    assert pipe.apply(SENTENCE, 4)[0] == draws[4] and len(set(draws)) > 1
    assert all(d != SENTENCE for d in draws)


def test_generated_text_that_breaks_a_span_is_reverted(tiny_models):
    # an untrained model drops "not": the sample is reverted and says why
    pipe = TextPipeline([Seq2SeqParaphrase(tiny_models["t5"], max_new_tokens=6)])
    src = "the tenant shall not pay the rent"
    for s in range(5):
        out, ops = pipe.apply(src, s)
        assert pipe.check(src, out) is None
        if out == src:
            assert ops[0].params["reverted"] is True and "missing" in ops[0].params["broke"]
