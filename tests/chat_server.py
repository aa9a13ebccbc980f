"""A small real OpenAI-compatible chat-completions server for the client tests: a standard-library
HTTP server on 127.0.0.1 whose `/v1/chat/completions` runs the real packaged SmolLM2 through
:class:`~augment.text.backends.causal_lm.CausalLMGeneration` (one model load shared with the
other tests of the process). `transformers serve` would do the same job but needs the
`transformers[serving]` extra (FastAPI, uvicorn, ...) and a second model load per test run.

Misbehaviour for the failure tests is chosen by a path prefix before `/v1`:

* `/flaky/v1/...`: the first `flaky_failures` requests answer 500, then the model answers;
* `/busy/v1/...`: the first request answers 429 with `Retry-After: 0`, then the model;
* `/garbage/v1/...`: 200 with a body that is not JSON;
* `/shape/v1/...`: 200 with JSON that is not a chat completion.

Every request is counted in `server.hits` (path -> count).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from augment.text.backends.causal_lm import CausalLMGeneration
from augment.text.backends.generation import Prompt


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        srv = self.server
        with srv.lock:
            srv.hits[self.path] += 1
            n = srv.hits[self.path]
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self.path.endswith("/v1/chat/completions"):
            self._send(404, b'{"error": "not found"}')
            return
        prefix = self.path[: -len("/v1/chat/completions")]
        if prefix == "/flaky" and n <= srv.flaky_failures:
            self._send(500, b'{"error": "temporarily broken"}')
            return
        if prefix == "/busy" and n == 1:
            self._send(429, b'{"error": "slow down"}', {"Retry-After": "0"})
            return
        if prefix == "/garbage":
            self._send(200, b"<html>this is not json{")
            return
        if prefix == "/shape":
            self._send(200, b'{"object": "list", "data": []}')
            return
        body = json.loads(raw)
        op = CausalLMGeneration(
            max_new_tokens=int(body.get("max_tokens", 32)),
            temperature=float(body.get("temperature", 0.8)),
            top_p=float(body.get("top_p", 0.9)),
        )
        with srv.lock:  # one generation at a time on the shared model
            ((reply, facts),) = op.complete(
                [Prompt(body["messages"], {})], [int(body.get("seed", 0))]
            )
        answer = {
            "id": f"chatcmpl-{sum(srv.hits.values())}",
            "object": "chat.completion",
            "model": body.get("model", "smollm2"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "length" if facts["truncated"] else "stop",
                }
            ],
        }
        self._send(200, json.dumps(answer).encode())


class ChatServer(ThreadingHTTPServer):
    """The server; ``url(prefix)`` is the base URL a client takes."""

    daemon_threads = True

    def __init__(self, flaky_failures: int = 2) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.flaky_failures = flaky_failures
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def url(self, prefix: str = "") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{prefix}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()
