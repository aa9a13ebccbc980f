"""Paraphrase and label-conditioned generation through an OpenAI-compatible chat-completions
server (vLLM, Ollama, llama.cpp server, `transformers serve`, hosted APIs).

Plain ``requests`` (already a dependency of the stack; the ``openai`` client would add a
dependency tree for one POST). What it does for you:

* **key from the environment**: ``api_key_env`` names the variable (``OPENAI_API_KEY`` by
  default); the key is sent as a bearer token and never recorded or serialized;
* **timeouts** per request (``timeout`` seconds, connect and read);
* **bounded concurrency**: :meth:`transform_batch` sends at most ``concurrency`` requests at once;
* **retries with backoff** on 429, 5xx and connection errors (``max_retries`` more tries, waits
  ``backoff * 2**k`` seconds, or the server's ``Retry-After`` when it sends one);
* **a disk cache** of replies keyed by (base URL, model, messages, sampling, seed), so a rerun or
  a resumed job asks nothing twice (``cache_dir``; ``None`` turns it off);
* **clear failures**: a request that fails for good, or an answer that is not a chat completion,
  raises :class:`~augment.text.backends.generation.GenerationError` naming the text and the
  cause; the Augmenter records it as that row's error and the run goes on.

The seed is sent with each request (servers that honour ``seed`` then give the same reply).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from augment.text.backends.generation import GenerationError, GenerativeOperation, Prompt

_RETRY_STATUS = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))


class ChatCompletionGeneration(GenerativeOperation):
    """Generation through ``POST {base_url}/chat/completions``.

    Parameters
    ----------
    base_url:
        The API root, e.g. ``"http://127.0.0.1:8000/v1"``.
    model:
        The model name the server knows.
    mode, examples, n_shots, prompt_template:
        As :class:`~augment.text.backends.causal_lm.CausalLMGeneration`.
    max_new_tokens, temperature, top_p:
        Sent as ``max_tokens``, ``temperature``, ``top_p``.
    api_key_env:
        The environment variable holding the key (none sent when it is unset or empty).
    timeout, max_retries, backoff, concurrency:
        Per-request seconds; extra tries on 429/5xx/connection errors; the first wait; the most
        requests in flight.
    cache_dir:
        Where replies are kept (``"default"``: ``chat/`` beside the language-model cache of
        :func:`fidelity.lm.lm_cache_dir`; ``None``: no cache).
    """

    name = "chat_generation"

    def __init__(
        self,
        base_url: str,
        model: str,
        mode: str = "paraphrase",
        examples: Mapping[str, Sequence[str]] | None = None,
        n_shots: int = 4,
        max_new_tokens: int = 64,
        temperature: float = 0.8,
        top_p: float = 0.9,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        concurrency: int = 4,
        cache_dir: str | None = "default",
        prompt_template: str | None = None,
    ) -> None:
        self._setup(mode, examples, n_shots, prompt_template)
        self.base_url = base_url
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.concurrency = concurrency
        self.cache_dir = cache_dir

    def model_name(self) -> str:
        return self.model

    def sampling(self) -> dict[str, Any]:
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }

    # ------------------------------------------------------------------ cache
    def _cache_root(self) -> Path | None:
        if self.cache_dir is None:
            return None
        if self.cache_dir == "default":
            from fidelity.lm import lm_cache_dir

            return lm_cache_dir() / "chat"
        return Path(self.cache_dir)

    def _key(self, body: dict[str, Any]) -> str:
        blob = json.dumps({"url": self.base_url.rstrip("/"), **body}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _cached(self, key: str) -> dict[str, Any] | None:
        root = self._cache_root()
        path = None if root is None else root / key[:2] / f"{key}.json"
        if path is None or not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # a damaged entry is asked again

    def _store(self, key: str, reply: dict[str, Any]) -> None:
        root = self._cache_root()
        if root is None:
            return
        folder = root / key[:2]
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(json.dumps(reply), encoding="utf-8")
        os.replace(tmp, folder / f"{key}.json")

    # ------------------------------------------------------------------ requests
    def _session(self) -> Any:
        local = getattr(self, "_local", None)
        if local is None:
            local = self._local = threading.local()
        if getattr(local, "session", None) is None:
            import requests

            local.session = requests.Session()
        return local.session

    def _post(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        import requests

        url = self.base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env or "", "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        last = ""
        for attempt in range(self.max_retries + 1):
            wait = self.backoff * (2**attempt)
            try:
                r = self._session().post(url, json=body, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if r.status_code == 200:
                    try:
                        return r.json()
                    except ValueError:
                        raise GenerationError(
                            f"{what}: the server at {url} answered 200 with a body that is not "
                            f"JSON: {r.text[:80]!r}"
                        ) from None
                last = f"HTTP {r.status_code}: {r.text[:120]}"
                if r.status_code not in _RETRY_STATUS:
                    break  # 400, 401, 404: asking again will not help
                retry_after = r.headers.get("Retry-After", "")
                if retry_after.replace(".", "", 1).isdigit():
                    wait = min(float(retry_after), 60.0)
            if attempt < self.max_retries:
                time.sleep(wait)
        raise GenerationError(
            f"{what}: the request to {url} failed for good after {attempt + 1} "
            f"tr{'y' if attempt == 0 else 'ies'}: {last}"
        )

    def _one(self, prompt: Prompt, seed: int) -> tuple[str, dict[str, Any]] | Exception:
        body = {
            "model": self.model,
            "messages": prompt.messages,
            "max_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": int(seed) % (2**31),
        }
        what = f"chat completion for {prompt.messages[-1]['content'][-60:]!r}"
        key = self._key(body)
        try:
            data = self._cached(key)
            cached = data is not None
            if data is None:
                data = self._post(body, what)
            reply, finish = _read_completion(data, what)
        except GenerationError as exc:
            return exc
        if not cached:
            self._store(key, data)
        return reply, {"truncated": finish == "length", "cached": cached}

    def complete(
        self, prompts: Sequence[Prompt], seeds: Sequence[int]
    ) -> list[tuple[str, dict[str, Any]] | Exception]:
        if len(prompts) == 1:
            return [self._one(prompts[0], seeds[0])]
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return list(pool.map(self._one, prompts, seeds))


def _read_completion(data: Any, what: str) -> tuple[str, str | None]:
    """The reply text and finish reason of a chat-completion response, or GenerationError."""
    try:
        choice = data["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise GenerationError(
            f"{what}: the server's answer is not a chat completion: {str(data)[:120]!r}"
        ) from None
    if not isinstance(content, str):
        raise GenerationError(f"{what}: the completion has no text content: {content!r}")
    return content, choice.get("finish_reason")
