"""The LLM labeler: any OpenAI-compatible endpoint through the ``openai`` client and ``instructor``.

- The system prompt (``prompts/``) is static and identical for every clause; the clause goes in
  the user message as data through instructor's ``context`` (``{{ clause_text }}``), so text in a
  clause cannot become instructions.
- The response model is the label schema; its validators check every quote, value, year and
  agency against the clause (the same ``context``), and instructor re-asks with the error.
- Every HTTP request — the first, the openai client's own retries (429/5xx/timeouts, with backoff,
  jitter and Retry-After) and instructor's re-asks — is recorded as an attempt with its tokens and
  latency, and passes the shared rate limiter first.
"""

from __future__ import annotations

import json
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from textwrap import dedent
from typing import Any

import httpx

from reviewapp.labeling.base import LABELER_LLM, Attempt, ClauseInput, LabelResult
from reviewapp.labeling.prompts import USER_TEMPLATE, Prompt
from reviewapp.labeling.ratelimit import RateLimiter
from reviewapp.labels.schema import ClauseLabels

# instructor and openai are imported where they are used: they weigh ~50 MiB and ~0.8 s, and
# every Django process (web, CLI, workers labeling with rules) would otherwise pay for them.
MODES = ("tools", "json", "md_json")
NOT_CONFIGURED = (
    "The LLM labeler needs LLM_BASE_URL and LLM_MODEL (and LLM_API_KEY for most providers)."
)


class TransientLLMError(Exception):
    """The endpoint did not answer usefully (rate limit, 5xx, timeout) after the client's
    retries; trying the task again later may work. ``retry_after`` is the server's hint."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    api_key: str
    model: str
    mode: str = "tools"
    temperature: float = 0.0
    timeout: float = 60.0
    http_retries: int = 1
    validation_attempts: int = 2

    def cache_parameters(self) -> dict[str, Any]:
        """What besides the clause and prompt changes an answer (the response cache key)."""
        return {"mode": self.mode, "temperature": self.temperature, "base_url": self.base_url}


class _AttemptRecorder:
    """httpx event hooks: one Attempt per HTTP request, and the rate limit before each."""

    def __init__(self, limiter: RateLimiter | None, estimated_tokens: int) -> None:
        self.attempts: list[Attempt] = []
        self.limiter = limiter
        self.estimated_tokens = estimated_tokens
        self._started: dict[int, float] = {}
        self._ended: dict[int, float] = {}

    def on_request(self, request: httpx.Request) -> None:
        if self.limiter is not None:
            self.limiter.acquire(tokens=self.estimated_tokens)

    def on_sent(self, request: httpx.Request) -> None:
        """The request holds an in-flight permit and goes now: its latency starts here."""
        self._started[id(request)] = time.perf_counter()

    def on_answered(self, request: httpx.Request) -> None:
        """The whole answer is in: its latency ends here."""
        self._ended[id(request)] = time.perf_counter()

    def on_response(self, response: httpx.Response) -> None:
        now = time.perf_counter()
        started = self._started.pop(id(response.request), now)
        ended = self._ended.pop(id(response.request), now)
        latency_ms = int((ended - started) * 1000)
        response.read()
        attempt = Attempt(latency_ms=latency_ms)
        if response.status_code == 200:
            try:
                usage = response.json().get("usage") or {}
            except (json.JSONDecodeError, UnicodeDecodeError):
                usage = {}
            attempt.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            attempt.completion_tokens = int(usage.get("completion_tokens") or 0)
        elif response.status_code == 429:
            attempt.status, attempt.error = "rate_limited", response.text[:500]
        else:
            attempt.status, attempt.error = (
                "http_error",
                f"HTTP {response.status_code}: {response.text[:500]}",
            )
        self.attempts.append(attempt)

    def on_timeout(self, request: httpx.Request) -> None:
        started = self._started.pop(id(request), time.perf_counter())
        latency_ms = int((time.perf_counter() - started) * 1000)
        self.attempts.append(Attempt(latency_ms=latency_ms, status="timeout", error="timed out"))


# The recorder of the label() call running on this thread. The HTTP client is shared by every
# call (building one costs ~20 ms: an SSL context), so each call finds its own recorder here.
_current_recorder: ContextVar[_AttemptRecorder | None] = ContextVar(
    "llm_attempt_recorder", default=None
)


def _on_request(request: httpx.Request) -> None:
    recorder = _current_recorder.get()
    if recorder is not None:
        recorder.on_request(request)


def _on_response(response: httpx.Response) -> None:
    recorder = _current_recorder.get()
    if recorder is not None:
        recorder.on_response(response)


class _RecordingTransport(httpx.BaseTransport):
    """Wraps the real transport so that timeouts and dropped connections are attempts too
    (httpx's response hook never sees a request that got no response), and holds one of the
    process's in-flight permits for exactly the HTTP exchange: building the next request and
    validating the last answer happen outside it, so the permits never wait for our CPU."""

    def __init__(self, inner: httpx.BaseTransport, permits: threading.Semaphore) -> None:
        self.inner = inner
        self.permits = permits

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        recorder = _current_recorder.get()
        try:
            with self.permits:
                if recorder is not None:
                    recorder.on_sent(request)
                response = self.inner.handle_request(request)
                response.read()  # the whole answer, before another request may go
                if recorder is not None:
                    recorder.on_answered(request)
                return response
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
            if recorder is not None:
                recorder.on_timeout(request)
            raise

    def close(self) -> None:
        self.inner.close()


def _compile_instructor_templates_once() -> None:
    """instructor renders every message through Jinja on every call (that is how ``context``
    reaches the user message), compiling each template anew: for the ~10 KB system prompt
    that is ~1.6 ms of CPU per request, about 40% of the client's work. Compile each distinct
    template once instead: the same sandboxed environment and the same dedent as instructor's
    own ``apply_template``, so the rendered messages are identical (a test checks this). An
    instructor laid out otherwise keeps its own templating: slower, never wrong."""
    from jinja2.sandbox import SandboxedEnvironment

    try:
        from instructor.v2.core import templating
    except ImportError:
        return
    current = getattr(templating, "apply_template", None)
    if not callable(current) or getattr(current, "compiles_once", False):
        return
    environment = SandboxedEnvironment()
    compiled = lru_cache(maxsize=64)(environment.from_string)

    def apply_template(text: str, context: dict[str, Any]) -> str:
        return dedent(compiled(text).render(**context))

    apply_template.compiles_once = True  # type: ignore[attr-defined]
    # instructor's own function is replaced on purpose (see the docstring); its module does not
    # declare it for type checkers.
    templating.apply_template = apply_template  # type: ignore[attr-defined]


@lru_cache(maxsize=1)
def _response_model() -> type[ClauseLabels]:
    """The label schema wrapped once for instructor: unwrapped, instructor builds a new model
    class (and its JSON schema) on every call, ~4 ms each."""
    import instructor

    return instructor.openai_schema(ClauseLabels)


class LLMLabeler:
    """Thread-safe: one instance (and its connection pool) serves every clause of a process."""

    name = LABELER_LLM

    def __init__(
        self,
        config: LLMConfig,
        prompt: Prompt,
        *,
        limiter: RateLimiter | None = None,
        max_in_flight: int = 64,
    ) -> None:
        if not config.base_url or not config.model:
            raise ValueError(NOT_CONFIGURED)
        if config.mode not in MODES:
            raise ValueError(f"LLM_MODE must be one of {', '.join(MODES)}, not {config.mode!r}")
        self.config = config
        self.prompt = prompt
        self.limiter = limiter
        self.model = config.model
        self.prompt_version = prompt.version
        # Requests in flight from this process at most, however many threads label.
        self.max_in_flight = max_in_flight
        self._permits = threading.BoundedSemaphore(max_in_flight)
        self._client: Any = None
        self._client_lock = threading.Lock()

    def _instructor_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._build_client()
            return self._client

    def _build_client(self) -> Any:
        import instructor
        import openai

        _compile_instructor_templates_once()
        modes = {
            "tools": instructor.Mode.TOOLS,
            "json": instructor.Mode.JSON,
            "md_json": instructor.Mode.MD_JSON,
        }
        limits = httpx.Limits(
            max_connections=self.max_in_flight, max_keepalive_connections=self.max_in_flight
        )
        http_client = httpx.Client(
            transport=_RecordingTransport(httpx.HTTPTransport(limits=limits), self._permits),
            event_hooks={"request": [_on_request], "response": [_on_response]},
            timeout=self.config.timeout,
        )
        return instructor.from_openai(
            openai.OpenAI(
                base_url=self.config.base_url,
                api_key=self.config.api_key or "not-needed",
                timeout=self.config.timeout,
                max_retries=self.config.http_retries,
                http_client=http_client,
            ),
            mode=modes[self.config.mode],
        )

    def label(self, clause: ClauseInput) -> LabelResult:
        import openai
        from instructor.core.exceptions import InstructorRetryException

        client = self._instructor_client()
        estimated = (len(self.prompt.system) + len(clause.text)) // 2 + 400
        recorder = _AttemptRecorder(self.limiter, estimated)
        context = {
            "clause_text": clause.text,
            "heading_path": " / ".join(clause.heading_path),
            "plan_year": clause.plan_year,
        }
        token = _current_recorder.set(recorder)
        try:
            labels, completion = client.chat.completions.create_with_completion(
                model=self.config.model,
                response_model=_response_model(),
                messages=[
                    {"role": "system", "content": self.prompt.system},
                    {"role": "user", "content": USER_TEMPLATE},
                ],
                context=context,
                temperature=self.config.temperature,
                max_retries=self.config.validation_attempts - 1,
            )
        except InstructorRetryException as exc:
            return self._failure(exc, recorder.attempts)
        except openai.APIError as exc:
            raise self._transient(exc, recorder.attempts) from exc
        except Exception as exc:
            # A library's edge case or a bug: the job is retried within its budget, then failed
            # with this reason; what the requests cost is kept either way.
            error = TransientLLMError(f"{type(exc).__name__}: {exc}")
            error.attempts = recorder.attempts  # type: ignore[attr-defined]
            raise error from exc
        finally:
            _current_recorder.reset(token)
        # Every answer before the accepted one was re-asked: it did not validate.
        answered = [a for a in recorder.attempts if a.status == "ok"]
        for attempt in answered[:-1]:
            attempt.status = "invalid"
        return LabelResult(
            labels=labels,
            confidence={},
            raw_output=_raw_output(completion),
            attempts=recorder.attempts,
        )

    def _failure(self, exc: Any, attempts: list[Attempt]) -> LabelResult:
        import openai

        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, openai.APIError) and not isinstance(
            cause, openai.APIResponseValidationError
        ):
            raise self._transient(cause, attempts) from exc
        # The model answered but never validly: a failed suggestion, kept for the reviewer.
        for attempt in attempts:
            if attempt.status == "ok":
                attempt.status = "invalid"
        if attempts and attempts[-1].status == "invalid":
            attempts[-1].error = _last_error(exc)
        return LabelResult(
            labels=None,
            error=_last_error(exc),
            raw_output=_raw_output(exc.last_completion),
            attempts=attempts,
        )

    def _transient(self, exc: BaseException, attempts: list[Attempt]) -> TransientLLMError:
        retry_after = None
        response = getattr(exc, "response", None)
        if response is not None:
            header = response.headers.get("retry-after")
            try:
                retry_after = float(header) if header else None
            except ValueError:
                retry_after = None
        error = TransientLLMError(f"{type(exc).__name__}: {exc}", retry_after)
        error.attempts = attempts  # type: ignore[attr-defined]
        return error


def _last_error(exc: Any) -> str:
    failed = getattr(exc, "failed_attempts", None) or []
    if failed:
        return str(getattr(failed[-1], "exception", failed[-1]))[:4000]
    return str(exc)[:4000]


def _raw_output(completion: Any) -> str:
    """The model's answer as it came: tool-call arguments or message content."""
    if completion is None:
        return ""
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError):
        return str(completion)[:20000]
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        return "\n".join(call.function.arguments or "" for call in calls)[:20000]
    return (message.content or "")[:20000]
