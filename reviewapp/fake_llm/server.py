"""A fake OpenAI-compatible chat-completions server that answers from the offline rule labeler.

Use it to try the LLM labeling pipeline with no API key, and as the real-HTTP backend of the LLM
labeler's tests::

    with FakeLLMServer(FakeLLMConfig(latency_ms=20)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="fake")

The wire protocol
-----------------
``POST /v1/chat/completions`` (or ``/chat/completions``) with the usual ``model``, ``messages``
and optional ``temperature``. The clause is read from the last *user* message (searching from the
end of ``messages``) whose content holds a ``<clause>…</clause>`` block; the optional
``<heading_path>…</heading_path>`` of that same message is split on `` / ``. Content may be a
string or a list of ``{"type": "text", "text": …}`` parts. No ``<clause>`` block → 400. The
``Authorization`` header is accepted and ignored.

The answer is ``rules_label(ClauseInput(text, heading_path))[0].model_dump(mode="json")``, sent
the way the request asks for it:

- ``tools`` given (instructor's TOOLS mode): a tool call to the function named by
  ``tool_choice`` (else the first tool), ``content`` null, ``finish_reason`` ``"tool_calls"``;
- ``response_format`` given (JSON mode): the JSON as the message content;
- neither (MD_JSON mode): the JSON in a fenced ```` ```json ```` block in the content.

Usage is a deterministic estimate: ``prompt_tokens = ceil(C / 1.5)`` where ``C`` is the total
number of characters of all message contents (text parts summed, ``null`` content counts 0), and
``completion_tokens = ceil(len(answer) / 1.5)`` where ``answer`` is the JSON text (or content)
actually sent, 0 for an empty answer.

Faults and the script
---------------------
Each chat-completion request that passes the concurrency check and is well-formed (a JSON object
with a ``messages`` list that has a ``<clause>`` block, and no ``stream: true``) gets exactly one
*outcome*: ``"ok"`` or one of :data:`FAULTS`. The outcome is taken from the head of the script (a
FIFO list, one entry consumed per such request, in the order the requests reach that point); when
the script is empty, one number is drawn from a ``random.Random(seed)`` and compared against the
cumulative fault rates in the order of :data:`FAULTS` (so at most one fault per request, and the
rates must sum to at most 1). Requests rejected by the concurrency limit or answered 400 consume
neither a script entry nor a random draw.

Latency (``latency_ms`` plus a uniform ``0..jitter_ms``) is how long every outcome's answer
takes, counted from the request's arrival (its headers read): the server's own work (reading the
body, labeling) is part of it, not added to it, so ``concurrency / latency`` is the server's true
capacity. The concurrency-limit 429 is immediate and ``timeout`` hangs ``timeout_s`` instead (then
closes the connection without a response; it wakes at once when the server stops).

Control endpoints: ``GET /_stats``, ``GET /_requests`` (the last 50 chat-completion request
bodies, oldest first, as received: how a client's re-asks look on the wire), ``POST /_reset``
(clears the stats and the kept requests, not the config or the script), ``GET /_control`` (the
current config), ``POST /_control`` (a JSON object of :class:`FakeLLMConfig` fields to change; fields not
given keep their value; ``faults`` replaces the whole fault table; ``seed`` reseeds the random
draws; ``script`` replaces the queue). ``GET /v1/models`` lists the one fake model.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import re
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from reviewapp.labeling.base import ClauseInput
from reviewapp.labeling.rules import rules_label

DEFAULT_MODEL = "fake-rules"

# The faults, in the order their rates are stacked for the random draw.
RATE_LIMIT_RETRY_AFTER = "rate_limit_retry_after"
RATE_LIMIT = "rate_limit"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
MALFORMED_JSON = "malformed_json"
HALLUCINATED_VALUE = "hallucinated_value"
EMPTY = "empty"
FAULTS = (
    RATE_LIMIT_RETRY_AFTER,
    RATE_LIMIT,
    SERVER_ERROR,
    TIMEOUT,
    MALFORMED_JSON,
    HALLUCINATED_VALUE,
    EMPTY,
)
OK = "ok"
OUTCOMES = (OK, *FAULTS)
# Counted in the stats but never chosen: the request was turned away before an outcome was drawn.
CONCURRENCY_LIMIT = "concurrency_limit"
BAD_REQUEST = "bad_request"
LABELER_ERROR = "labeler_error"

# Short names accepted in a script (and on the command line) besides the outcome names.
ALIASES = {
    "200": OK,
    "429-retry-after": RATE_LIMIT_RETRY_AFTER,
    "429": RATE_LIMIT,
    "500": SERVER_ERROR,
    "hang": TIMEOUT,
    "malformed": MALFORMED_JSON,
    "hallucinated": HALLUCINATED_VALUE,
}

# The quote of the target the hallucinated_value fault adds (value 987.6 unless the clause has it).
HALLUCINATED_QUOTE = "总量达到{number}万吨"
# How many chat-completion request bodies the server keeps for inspection (GET /_requests).
KEPT_REQUESTS = 50

_CLAUSE_RE = re.compile(r"<clause>[ \t]*\r?\n?(.*?)\r?\n?[ \t]*</clause>", re.DOTALL)
_HEADING_RE = re.compile(r"<heading_path>(.*?)</heading_path>", re.DOTALL)


def canonical_outcome(name: str) -> str:
    """``"429-retry-after"`` → ``"rate_limit_retry_after"``; raises ValueError for unknown names."""
    key = name.strip()
    key = ALIASES.get(key.lower(), key.lower().replace("-", "_"))
    if key not in OUTCOMES:
        raise ValueError(f"unknown outcome {name!r}; use one of {', '.join(OUTCOMES)}")
    return key


@dataclass
class FakeLLMConfig:
    """How the fake server behaves. Every field can be changed at run time (``/_control``)."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0  # a uniform 0..jitter_ms is added to latency_ms
    concurrency: int | None = None  # None or 0: unlimited; else more in-flight requests get 429
    faults: dict[str, float] = field(default_factory=dict)  # fault name -> probability
    seed: int = 0
    retry_after_s: float = 1.0  # the Retry-After of the rate_limit_retry_after fault
    timeout_s: float = 30.0  # how long the timeout fault hangs before closing the connection
    script: list[str] = field(default_factory=list)  # outcomes consumed first, one per request
    log_requests: bool = False  # one line per request on stderr

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for name in ("latency_ms", "jitter_ms", "retry_after_s", "timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, not {value!r}")
        if self.concurrency is not None and (
            not isinstance(self.concurrency, int) or self.concurrency < 0
        ):
            raise ValueError(
                f"concurrency must be an integer >= 0 or null, not {self.concurrency!r}"
            )
        if not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, not {self.seed!r}")
        if not isinstance(self.faults, dict):
            raise ValueError("faults must be an object of fault name -> probability")
        faults: dict[str, float] = {}
        for name, rate in self.faults.items():
            key = canonical_outcome(name)
            if key == OK:
                raise ValueError("'ok' is not a fault")
            if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
                raise ValueError(f"fault rate {name}={rate!r} must be a probability in [0, 1]")
            faults[key] = float(rate)
        if sum(faults.values()) > 1 + 1e-9:
            raise ValueError("fault rates must sum to at most 1 (one fault at most per request)")
        self.faults = faults
        if not isinstance(self.script, list):
            raise ValueError("script must be a list of outcome names")
        self.script = [canonical_outcome(str(entry)) for entry in self.script]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Reply:
    """What the HTTP layer sends: a status and JSON body, or ``None`` to close without a reply."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # slept before answering (latency), or the hang of a timeout


def openai_error(
    status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None
) -> Reply:
    return Reply(
        status, {"error": {"message": message, "type": type_, "code": code}}, headers or {}
    )


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) and isinstance(part.get("text"), str)
            else ""
            for part in content
        )  # fmt: skip
    return ""


def estimate_tokens(characters: int) -> int:
    return math.ceil(characters / 1.5)


def find_clause(messages: list[Any]) -> tuple[str, list[str]] | None:
    """The clause text and heading path of the last user message that has a ``<clause>`` block."""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = _text_of(message.get("content"))
        match = _CLAUSE_RE.search(content)
        if match is None:
            continue
        heading = _HEADING_RE.search(content)
        path = [p.strip() for p in heading.group(1).split(" / ")] if heading else []
        return match.group(1).strip(), [p for p in path if p]
    return None


def hallucinate(answer: dict[str, Any], clause_text: str) -> dict[str, Any]:
    """The answer with one more target whose value and quote are not in the clause.

    Everything else stays consistent (kind becomes "target"), so validating against the clause
    fails only with "quote … does not occur in the clause text".
    """
    step = 0
    while True:  # 987.6, 988.6, …: the first whose number and quote the clause does not contain
        number = f"{987.6 + step:.1f}"
        quote = HALLUCINATED_QUOTE.format(number=number)
        if number not in clause_text and quote not in clause_text:
            break
        step += 1
    target = {
        "indicator": "总量",
        "value": float(number),
        "unit": "万吨",
        "comparator": "=",
        "change": "level",
        "baseline_year": None,
        "deadline_year": None,
        "start_year": None,
        "quote": quote,
    }
    return {**answer, "kind": "target", "targets": [*answer.get("targets", []), target]}


class FakeLLM:
    """The server's state and decisions, apart from HTTP: config, script, random draws, stats."""

    def __init__(self, config: FakeLLMConfig) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._script: deque[str] = deque(config.script)
        self._rng = random.Random(config.seed)
        self._jitter_rng = random.Random(config.seed)
        self._ids = 0
        self._stats = self._empty_stats()
        self._requests: deque[Any] = deque(maxlen=KEPT_REQUESTS)

    @staticmethod
    def _empty_stats() -> dict[str, Any]:
        return {
            "requests": 0,  # chat-completion requests, whatever became of them
            "outcomes": {
                name: 0 for name in (*OUTCOMES, CONCURRENCY_LIMIT, BAD_REQUEST, LABELER_ERROR)
            },
            "in_flight": 0,
            "max_in_flight": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
        }

    # --- config and stats ---------------------------------------------------------------------

    @property
    def config(self) -> FakeLLMConfig:
        with self._lock:
            return dataclasses.replace(self._config, script=list(self._script))

    def update(self, **changes: Any) -> FakeLLMConfig:
        """Change config fields (the others keep their values); see the module docstring."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(FakeLLMConfig)}
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        with self._lock:
            current = dataclasses.replace(self._config, script=list(self._script))
            new = dataclasses.replace(current, **changes)  # validates
            self._config = new
            if "script" in changes:
                self._script = deque(new.script)
            if "seed" in changes:
                self._rng = random.Random(new.seed)
                self._jitter_rng = random.Random(new.seed)
            return dataclasses.replace(new, script=list(self._script))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            stats = json.loads(json.dumps(self._stats))
            stats["script_remaining"] = len(self._script)
            return stats

    def requests(self) -> list[Any]:
        """The last chat-completion request bodies (oldest first), as received."""
        with self._lock:
            return list(self._requests)

    def reset_stats(self) -> None:
        """Clear the stats and the kept requests (not the config or the script)."""
        with self._lock:
            self._requests.clear()
            in_flight = self._stats["in_flight"]
            self._stats = self._empty_stats()
            self._stats["in_flight"] = in_flight
            self._stats["max_in_flight"] = in_flight

    def _count(self, outcome: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        with self._lock:
            self._stats["outcomes"][outcome] += 1
            self._stats["prompt_tokens"] += prompt_tokens
            self._stats["completion_tokens"] += completion_tokens

    # --- admission ----------------------------------------------------------------------------

    def admit(self) -> bool:
        """Count a chat-completion request; False when it is over the concurrency limit."""
        with self._lock:
            self._stats["requests"] += 1
            limit = self._config.concurrency
            if limit and self._stats["in_flight"] >= limit:
                self._stats["outcomes"][CONCURRENCY_LIMIT] += 1
                return False
            self._stats["in_flight"] += 1
            self._stats["max_in_flight"] = max(
                self._stats["max_in_flight"], self._stats["in_flight"]
            )
            return True

    def release(self) -> None:
        with self._lock:
            self._stats["in_flight"] -= 1

    def _next_outcome(self) -> tuple[str, FakeLLMConfig, float, int]:
        with self._lock:
            config = self._config
            if self._script:
                outcome = self._script.popleft()
            else:
                draw, outcome, cumulative = self._rng.random(), OK, 0.0
                for name in FAULTS:
                    cumulative += config.faults.get(name, 0.0)
                    if draw < cumulative:
                        outcome = name
                        break
            jitter = self._jitter_rng.uniform(0, config.jitter_ms) if config.jitter_ms else 0.0
            self._ids += 1
            return outcome, config, (config.latency_ms + jitter) / 1000, self._ids

    # --- a chat completion --------------------------------------------------------------------

    def concurrency_reply(self) -> Reply:
        return openai_error(
            429,
            "Too many concurrent requests for this model (fake concurrency limit). Please retry.",
            "requests",
            "concurrency_limit_exceeded",
            {"Retry-After": "1"},
        )

    def chat(self, body: Any) -> Reply:
        """The reply to an admitted chat-completion request (``release`` is the caller's job)."""
        with self._lock:
            self._requests.append(body)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._count(BAD_REQUEST)
            return openai_error(
                400, "'messages' is required and must be a list", "invalid_request_error", None
            )
        if body.get("stream"):
            self._count(BAD_REQUEST)
            return openai_error(
                400,
                "stream=true is not supported by the fake server",
                "invalid_request_error",
                None,
            )
        found = find_clause(body["messages"])
        if found is None:
            self._count(BAD_REQUEST)
            return openai_error(
                400,
                "no <clause>…</clause> block in any user message",
                "invalid_request_error",
                "clause_missing",
            )
        clause_text, heading_path = found
        outcome, config, delay, number = self._next_outcome()

        if outcome == TIMEOUT:
            self._count(outcome)
            return Reply(0, None, delay_s=config.timeout_s)
        if outcome == RATE_LIMIT_RETRY_AFTER:
            self._count(outcome)
            reply = openai_error(
                429,
                "Rate limit reached for requests (fake). Please try again later.",
                "requests",
                "rate_limit_exceeded",
                {"Retry-After": _seconds(config.retry_after_s)},
            )
            reply.delay_s = delay
            return reply
        if outcome == RATE_LIMIT:
            self._count(outcome)
            reply = openai_error(
                429,
                "Rate limit reached for requests (fake).",
                "requests",
                "rate_limit_exceeded",
            )
            reply.delay_s = delay
            return reply
        if outcome == SERVER_ERROR:
            self._count(outcome)
            reply = openai_error(
                500,
                "The server had an error while processing your request (fake).",
                "server_error",
                None,
            )
            reply.delay_s = delay
            return reply

        try:
            labels, _ = rules_label(ClauseInput(clause_text, heading_path=heading_path))
            answer = labels.model_dump(mode="json")
        except Exception as exc:  # a rule bug: visible, and not counted as a planned fault
            self._count(LABELER_ERROR)
            return openai_error(
                500, f"the rule labeler failed: {exc!r}", "server_error", "labeler_error"
            )
        if outcome == HALLUCINATED_VALUE:
            answer = hallucinate(answer, clause_text)
        text = json.dumps(answer, ensure_ascii=False)
        if outcome == MALFORMED_JSON:
            text = text[: len(text) // 2]  # truncated mid-way: never parses
        elif outcome == EMPTY:
            text = ""

        tools = body.get("tools")
        tool_mode = bool(tools) and outcome != EMPTY
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if tool_mode:
            message["tool_calls"] = [
                {
                    "id": f"call_fake_{number}",
                    "type": "function",
                    "function": {"name": _tool_name(body), "arguments": text},
                }
            ]
            sent = text
        elif body.get("response_format") or outcome == EMPTY:
            sent = message["content"] = text
        else:
            sent = message["content"] = f"```json\n{text}\n```"
        prompt_tokens = estimate_tokens(
            sum(len(_text_of(m.get("content"))) for m in body["messages"] if isinstance(m, dict))
        )
        completion_tokens = estimate_tokens(len(sent))
        self._count(outcome, prompt_tokens, completion_tokens)
        return Reply(
            200,
            {
                "id": f"chatcmpl-fake-{number}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model") or DEFAULT_MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": "tool_calls" if tool_mode else "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                "system_fingerprint": "fake-rules",
            },
            delay_s=delay,
        )


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _tool_name(body: dict[str, Any]) -> str:
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if isinstance(name, str) and name:
            return name
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            name = (tool.get("function") or {}).get("name")
            if isinstance(name, str) and name:
                return name
    return "ClauseLabels"


# --- HTTP ---------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() closes the connections; it does not wait for the threads
    request_queue_size = 256  # the default 5 drops connections when many clients connect at once

    def __init__(self, address: tuple[str, int], fake: FakeLLM) -> None:
        self.fake = fake
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # the client went away, or we are stopping
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their pooled connections
    server_version = "FakeLLM/1"
    timeout = 60  # an idle keep-alive connection is dropped after this many seconds
    # Headers and body go out in separate writes; with Nagle's algorithm the client's delayed ACK
    # would hold the body back ~40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.config.log_requests:
            super().log_message(format, *args)

    def _send(self, reply: Reply) -> None:
        data = json.dumps(reply.body, ensure_ascii=False).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _read_json(self) -> tuple[Any, bool]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null"), True
        except (ValueError, UnicodeDecodeError):
            return None, False

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        if path == "/_stats":
            self._send(Reply(200, self.server.fake.stats()))
        elif path == "/_control":
            self._send(Reply(200, self.server.fake.config.to_json()))
        elif path == "/_requests":
            self._send(Reply(200, {"requests": self.server.fake.requests()}))
        elif path in ("/v1/models", "/models"):
            model = {"id": DEFAULT_MODEL, "object": "model", "created": 0, "owned_by": "fake"}
            self._send(Reply(200, {"object": "list", "data": [model]}))
        else:
            self._send(openai_error(404, f"no route GET {path}", "invalid_request_error", None))

    def do_POST(self) -> None:
        arrived = time.monotonic()
        path = urlsplit(self.path).path.rstrip("/")
        body, parsed = self._read_json()
        fake = self.server.fake
        if path in ("/v1/chat/completions", "/chat/completions"):
            self._chat(body if parsed else None, parsed, arrived)
        elif path == "/_control":
            if not parsed or not isinstance(body, dict):
                self._send(openai_error(400, "send a JSON object", "invalid_request_error", None))
                return
            try:
                config = fake.update(**body)
            except (TypeError, ValueError) as exc:
                self._send(openai_error(400, str(exc), "invalid_request_error", None))
                return
            self._send(Reply(200, config.to_json()))
        elif path == "/_reset":
            fake.reset_stats()
            self._send(Reply(200, fake.stats()))
        else:
            self._send(openai_error(404, f"no route POST {path}", "invalid_request_error", None))

    def _chat(self, body: Any, parsed: bool, arrived: float) -> None:
        fake = self.server.fake
        if not fake.admit():
            self._send(fake.concurrency_reply())
            return
        try:
            if not parsed:
                fake._count(BAD_REQUEST)
                reply = openai_error(
                    400, "the body is not valid JSON", "invalid_request_error", None
                )
            else:
                reply = fake.chat(body)
            if reply.delay_s:
                self.server.stopping.wait(max(0.0, reply.delay_s - (time.monotonic() - arrived)))
            if reply.body is None:  # the timeout fault: no answer, just a closed connection
                self.close_connection = True
                return
            self._send(reply)
        finally:
            fake.release()


class FakeLLMServer:
    """The fake server on a background thread. ``port=0`` lets the OS choose a free port."""

    def __init__(
        self, config: FakeLLMConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.fake = FakeLLM(config or FakeLLMConfig())
        self.host = host
        self.port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the root, where ``/_stats`` and ``/_control`` live."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what an OpenAI client's ``base_url`` should be."""
        return f"{self.url}/v1"

    def start(self) -> FakeLLMServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.port), self.fake)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-llm-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging requests wake and open connections are closed."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        with httpd.connections_lock:
            connections = list(httpd.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Conveniences for tests in the same process (the HTTP endpoints do the same).
    def update(self, **changes: Any) -> FakeLLMConfig:
        return self.fake.update(**changes)

    def stats(self) -> dict[str, Any]:
        return self.fake.stats()

    def reset_stats(self) -> None:
        self.fake.reset_stats()

    def requests(self) -> list[Any]:
        return self.fake.requests()
