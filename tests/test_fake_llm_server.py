"""The fake OpenAI-compatible server: real HTTP, the real openai client and instructor."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import instructor
import openai
import pytest
from django.core.management import CommandError, call_command
from instructor.core import InstructorRetryException
from pydantic import ValidationError

from reviewapp.fake_llm.server import FakeLLMConfig, FakeLLMServer, canonical_outcome
from reviewapp.labeling.base import ClauseInput
from reviewapp.labeling.rules import rules_label
from reviewapp.labels.schema import QUOTE_NOT_IN_CLAUSE, ClauseLabels, labels_validate

CLAUSE = (
    "到2025年,新能源和可再生能源耦合供热面积占比达到10%以上。到2030年,新能源和可再生能源耦合"
    "供热面积占比达到12.5%左右。(主要责任单位:区城市管理委、区发展改革委、相关街镇)"
)
HEADING = "三、重点任务 / (一)能源绿色低碳转型行动"
NO_TARGET_CLAUSE = "探索推进供热管网智慧化体系建设。(主要责任单位:区城市管理委)"
USER_TEMPLATE = (
    "<heading_path>{{ heading_path }}</heading_path>\n<clause>\n{{ clause_text }}\n</clause>"
)
TOOLS = [
    {
        "type": "function",
        "function": {"name": "ClauseLabels", "parameters": {"type": "object", "properties": {}}},
    }
]
ROOT = Path(__file__).resolve().parent.parent


def user_message(text: str = CLAUSE, heading: str = HEADING) -> dict[str, str]:
    return {
        "role": "user",
        "content": f"<heading_path>{heading}</heading_path>\n<clause>\n{text}\n</clause>",
    }


def chat_body(text: str = CLAUSE, **extra: object) -> dict[str, object]:
    return {
        "model": "gpt-test",
        "messages": [{"role": "system", "content": "Label the clause."}, user_message(text)],
        **extra,
    }


def expected_answer(text: str = CLAUSE, heading: str = HEADING) -> dict[str, object]:
    labels, _ = rules_label(ClauseInput(text, heading_path=heading.split(" / ")))
    return labels.model_dump(mode="json")


@pytest.fixture
def server():
    with FakeLLMServer() as running:
        yield running


@pytest.fixture
def http(server: FakeLLMServer):
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def post_chat(http: httpx.Client, body: dict[str, object] | None = None) -> httpx.Response:
    return http.post("/v1/chat/completions", json=body or chat_body(tools=TOOLS))


def openai_client(server: FakeLLMServer, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="fake", max_retries=0, **kwargs)


# --- the happy path -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode", [instructor.Mode.TOOLS, instructor.Mode.JSON, instructor.Mode.MD_JSON]
)
def test_each_instructor_mode_round_trips_into_validated_clause_labels(
    server: FakeLLMServer, mode: instructor.Mode
) -> None:
    client = instructor.from_openai(openai_client(server), mode=mode)

    labels = client.chat.completions.create(
        model="fake-rules",
        response_model=ClauseLabels,
        max_retries=1,
        messages=[
            {"role": "system", "content": "Label the clause."},
            {"role": "user", "content": USER_TEMPLATE},
        ],
        context={"clause_text": CLAUSE, "heading_path": HEADING},
    )

    assert labels.model_dump(mode="json") == expected_answer()
    assert [t.value for t in labels.targets] == [10, 12.5]
    assert labels.deadlines == [2025, 2030]
    assert labels.responsible_agencies == ["区城市管理委", "区发展改革委", "相关街镇"]
    assert server.stats()["outcomes"]["ok"] == 1
    # instructor rendered the context into the user message (Jinja templating).
    sent = server.requests()[0]["messages"]
    clause_message = next(m for m in sent if m["role"] == "user")
    assert f"<clause>\n{CLAUSE}\n</clause>" in clause_message["content"]
    assert f"<heading_path>{HEADING}</heading_path>" in clause_message["content"]
    assert "{{" not in json.dumps(sent, ensure_ascii=False)


def test_the_openai_client_gets_a_standard_tool_call_completion(server: FakeLLMServer) -> None:
    body = chat_body(
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "ClauseLabels"}},
        temperature=0,
    )
    completion = openai_client(server).chat.completions.create(**body)

    assert completion.object == "chat.completion"
    assert completion.model == "gpt-test"
    assert completion.id and completion.created > 0
    choice = completion.choices[0]
    assert choice.index == 0
    assert choice.finish_reason == "tool_calls"
    assert choice.message.role == "assistant"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id
    assert call.function.name == "ClauseLabels"
    assert json.loads(call.function.arguments) == expected_answer()
    # usage: ceil(characters of all message contents / 1.5) and ceil(len(answer) / 1.5)
    characters = sum(len(m["content"]) for m in body["messages"])
    assert completion.usage.prompt_tokens == math.ceil(characters / 1.5)
    assert completion.usage.completion_tokens == math.ceil(len(call.function.arguments) / 1.5)
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_json_mode_answers_in_the_content_and_md_json_mode_in_a_fenced_block(
    http: httpx.Client,
) -> None:
    as_json = post_chat(http, chat_body(response_format={"type": "json_object"})).json()
    fenced = post_chat(http, chat_body()).json()

    json_choice, fenced_choice = as_json["choices"][0], fenced["choices"][0]
    assert json_choice["finish_reason"] == fenced_choice["finish_reason"] == "stop"
    assert "tool_calls" not in json_choice["message"]
    assert json.loads(json_choice["message"]["content"]) == expected_answer()
    content = fenced_choice["message"]["content"]
    assert content.startswith("```json\n") and content.endswith("\n```")
    assert json.loads(content.removeprefix("```json\n").removesuffix("\n```")) == expected_answer()


def test_the_path_without_v1_and_any_authorization_header_are_accepted(
    server: FakeLLMServer,
) -> None:
    response = httpx.post(
        f"{server.url}/chat/completions",
        json=chat_body(tools=TOOLS),
        headers={"Authorization": "Bearer sk-anything"},
    )
    assert response.status_code == 200


def test_the_heading_path_is_split_on_slashes_and_informs_the_labels(http: httpx.Client) -> None:
    text = "坚持以习近平新时代中国特色社会主义思想为指导,全面贯彻新发展理念。"
    body = chat_body(response_format={"type": "json_object"})
    body["messages"][-1] = user_message(text, heading="一、总体要求 / (一)指导思想")

    answer = json.loads(post_chat(http, body).json()["choices"][0]["message"]["content"])

    assert answer["kind"] == "principle"
    assert answer["sector"] == "overall"


def test_the_last_user_message_with_a_clause_block_is_the_one_answered(
    http: httpx.Client,
) -> None:
    body = chat_body(response_format={"type": "json_object"})
    body["messages"] += [
        {"role": "assistant", "content": "{}"},
        user_message("到2030年,光伏装机达到2.9万千瓦。"),
        {"role": "user", "content": "Correct your JSON ONLY RESPONSE, based on the errors"},
    ]

    answer = json.loads(post_chat(http, body).json()["choices"][0]["message"]["content"])

    assert [t["quote"] for t in answer["targets"]] == ["光伏装机达到2.9万千瓦"]


def test_a_request_without_a_clause_block_is_answered_400_with_an_openai_error(
    http: httpx.Client, server: FakeLLMServer
) -> None:
    server.update(script=["ok"])
    body = {"model": "m", "messages": [{"role": "user", "content": "Label this: 到2025年。"}]}

    response = post_chat(http, body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "<clause>" in error["message"]
    assert set(error) == {"message", "type", "code"}
    assert server.stats()["outcomes"]["bad_request"] == 1
    assert server.stats()["script_remaining"] == 1  # a 400 consumes no script entry


# --- faults -------------------------------------------------------------------------------------


def test_a_429_with_retry_after_carries_the_header(
    http: httpx.Client, server: FakeLLMServer
) -> None:
    server.update(faults={"rate_limit_retry_after": 1.0}, retry_after_s=2)

    response = post_chat(http)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_a_429_without_retry_after_has_no_such_header(
    http: httpx.Client, server: FakeLLMServer
) -> None:
    server.update(faults={"rate_limit": 1.0})

    response = post_chat(http)

    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    assert response.json()["error"]["type"] == "requests"


def test_the_openai_client_sees_a_429_as_a_rate_limit_error(server: FakeLLMServer) -> None:
    server.update(script=["429-retry-after"])

    with pytest.raises(openai.RateLimitError) as caught:
        openai_client(server).chat.completions.create(**chat_body(tools=TOOLS))

    assert caught.value.response.headers["retry-after"] == "1"


def test_a_server_error_is_a_500_in_openai_shape(http: httpx.Client, server: FakeLLMServer) -> None:
    server.update(faults={"server_error": 1.0})

    response = post_chat(http)

    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"


def test_a_timeout_hangs_then_closes_the_connection_without_a_response(
    http: httpx.Client, server: FakeLLMServer
) -> None:
    server.update(faults={"timeout": 1.0}, timeout_s=0.3)
    started = time.monotonic()

    with pytest.raises(httpx.RemoteProtocolError):
        post_chat(http)

    assert time.monotonic() - started >= 0.3
    assert server.stats()["outcomes"]["timeout"] == 1


def test_a_client_timeout_fires_while_the_server_hangs(server: FakeLLMServer) -> None:
    server.update(script=["timeout"], timeout_s=5)

    with pytest.raises(openai.APITimeoutError):
        openai_client(server, timeout=0.2).chat.completions.create(**chat_body(tools=TOOLS))


def test_a_hanging_request_ends_promptly_when_the_server_stops() -> None:
    running = FakeLLMServer(FakeLLMConfig(script=["timeout"], timeout_s=30)).start()
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            httpx.post(f"{running.base_url}/chat/completions", json=chat_body(), timeout=10)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while running.stats()["in_flight"] == 0:
        time.sleep(0.01)
    started = time.monotonic()
    running.stop()
    caller.join(timeout=5)

    assert not caller.is_alive()
    assert time.monotonic() - started < 2
    assert outcome and isinstance(outcome[0], httpx.RemoteProtocolError)


@pytest.mark.parametrize("mode", ["tools", "json", "md_json"])
def test_malformed_json_is_a_200_whose_answer_does_not_parse(
    http: httpx.Client, server: FakeLLMServer, mode: str
) -> None:
    server.update(faults={"malformed_json": 1.0})
    extra = {"tools": {"tools": TOOLS}, "json": {"response_format": {"type": "json_object"}}}

    response = post_chat(http, chat_body(**extra.get(mode, {})))

    assert response.status_code == 200
    message = response.json()["choices"][0]["message"]
    text = (
        message["tool_calls"][0]["function"]["arguments"]
        if mode == "tools"
        else message["content"].removeprefix("```json\n").removesuffix("\n```")
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_a_hallucinated_value_fails_validation_only_because_its_quote_is_not_in_the_clause(
    http: httpx.Client, server: FakeLLMServer
) -> None:
    server.update(faults={"hallucinated_value": 1.0})

    response = post_chat(http)

    assert response.status_code == 200
    answer = json.loads(
        response.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    )
    invented = answer["targets"][-1]
    assert invented["value"] == 987.6 and invented["quote"] == "总量达到987.6万吨"
    assert "987.6" not in CLAUSE
    ClauseLabels.model_validate(answer)  # fine without the clause: the shape is right
    with pytest.raises(ValidationError) as caught:
        labels_validate(answer, clause_text=CLAUSE)
    (error,) = caught.value.errors()
    assert QUOTE_NOT_IN_CLAUSE.format(quote="总量达到987.6万吨") in error["msg"]


def test_a_hallucinated_value_on_a_clause_without_targets_makes_it_a_target_clause(
    http: httpx.Client, server: FakeLLMServer
) -> None:
    assert expected_answer(NO_TARGET_CLAUSE)["targets"] == []
    server.update(faults={"hallucinated_value": 1.0})

    response = post_chat(http, chat_body(NO_TARGET_CLAUSE, response_format={"type": "json_object"}))

    answer = json.loads(response.json()["choices"][0]["message"]["content"])
    assert answer["kind"] == "target" and len(answer["targets"]) == 1
    with pytest.raises(ValidationError) as caught:
        labels_validate(answer, clause_text=NO_TARGET_CLAUSE)
    assert len(caught.value.errors()) == 1


def test_an_empty_answer_has_empty_content_and_no_tool_calls(
    http: httpx.Client, server: FakeLLMServer
) -> None:
    server.update(faults={"empty": 1.0})

    response = post_chat(http)

    assert response.status_code == 200
    body = response.json()
    message = body["choices"][0]["message"]
    assert message["content"] == ""
    assert not message.get("tool_calls")
    assert body["usage"]["completion_tokens"] == 0


def test_instructor_reasks_after_a_hallucination_and_the_second_answer_is_valid(
    server: FakeLLMServer,
) -> None:
    server.update(script=["hallucinated_value", "ok"])
    client = instructor.from_openai(openai_client(server), mode=instructor.Mode.TOOLS)

    labels = client.chat.completions.create(
        model="fake-rules",
        response_model=ClauseLabels,
        max_retries=1,  # one re-ask after the first attempt
        messages=[{"role": "user", "content": USER_TEMPLATE}],
        context={"clause_text": CLAUSE, "heading_path": HEADING},
    )

    assert labels.model_dump(mode="json") == expected_answer()
    assert server.stats()["requests"] == 2
    reask = server.requests()[1]["messages"]
    assert [m["role"] for m in reask] == ["user", "assistant", "tool"]
    assert reask[1]["tool_calls"][0]["function"]["name"] == "ClauseLabels"
    assert "does not occur in the clause text" in reask[2]["content"]


def test_instructor_gives_up_after_its_retries_and_does_not_retry_http_errors(
    server: FakeLLMServer,
) -> None:
    client = instructor.from_openai(openai_client(server), mode=instructor.Mode.TOOLS)
    kwargs = {
        "model": "fake-rules",
        "response_model": ClauseLabels,
        "max_retries": 1,
        "messages": [{"role": "user", "content": USER_TEMPLATE}],
        "context": {"clause_text": CLAUSE, "heading_path": HEADING},
    }

    server.update(script=["malformed_json", "empty", "ok"])
    with pytest.raises(InstructorRetryException) as invalid:
        client.chat.completions.create(**kwargs)
    assert invalid.value.n_attempts == 2
    server.update(script=["500", "ok"])
    with pytest.raises(InstructorRetryException) as failed:
        client.chat.completions.create(**kwargs)
    assert isinstance(failed.value.__cause__, openai.InternalServerError)

    assert server.stats()["requests"] == 3
    assert server.stats()["script_remaining"] == 1  # the "ok" after the 500


# --- concurrency, latency, script, stats, control -----------------------------------------------


def test_the_concurrency_limit_turns_extra_parallel_requests_away_with_429(
    server: FakeLLMServer,
) -> None:
    limit = 4
    server.update(concurrency=limit, latency_ms=400)

    with httpx.Client(timeout=5) as shared, ThreadPoolExecutor(limit + 5) as pool:
        url = f"{server.base_url}/chat/completions"
        responses = list(pool.map(lambda _: shared.post(url, json=chat_body()), range(limit + 5)))

    rejected = [r for r in responses if r.status_code == 429]
    assert sorted(r.status_code for r in responses) == [200] * limit + [429] * 5
    assert all(r.headers["Retry-After"] == "1" for r in rejected)
    assert all(r.json()["error"]["code"] == "concurrency_limit_exceeded" for r in rejected)
    stats = server.stats()
    assert stats["outcomes"]["concurrency_limit"] == 5
    assert stats["max_in_flight"] == limit


def test_latency_is_added_to_every_answer(http: httpx.Client, server: FakeLLMServer) -> None:
    server.update(latency_ms=150, script=["ok", "server_error"])

    for _ in range(2):
        started = time.monotonic()
        post_chat(http)
        assert time.monotonic() - started >= 0.15


def test_latency_counts_from_the_requests_arrival_so_the_servers_own_work_is_part_of_it(
    http: httpx.Client, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reviewapp.fake_llm import server as server_module

    real_label = server_module.rules_label

    def slow_label(clause):  # type: ignore[no-untyped-def]
        time.sleep(0.2)
        return real_label(clause)

    monkeypatch.setattr(server_module, "rules_label", slow_label)
    server.update(latency_ms=300)
    started = time.monotonic()
    assert post_chat(http).status_code == 200
    # 300 ms in all, not 200 ms of labeling + 300 ms.
    assert 0.3 <= time.monotonic() - started < 0.45


def test_thirty_two_requests_with_200_ms_latency_are_served_in_parallel(
    server: FakeLLMServer,
) -> None:
    server.update(latency_ms=200, concurrency=32)
    url = f"{server.base_url}/chat/completions"
    started = time.monotonic()

    with httpx.Client(timeout=5) as shared, ThreadPoolExecutor(32) as pool:
        statuses = [
            r.status_code for r in pool.map(lambda _: shared.post(url, json=chat_body()), range(32))
        ]

    assert statuses == [200] * 32
    assert time.monotonic() - started < 1.5  # one after another would take 6.4 s
    assert server.stats()["max_in_flight"] >= 16


def test_the_script_is_consumed_first_in_order_then_the_fault_rates_apply(
    http: httpx.Client, server: FakeLLMServer
) -> None:
    server.update(script=["429-retry-after", "500", "ok", "rate_limit"], faults={"server_error": 1})

    statuses = []
    for _ in range(3):
        statuses.append(post_chat(http).status_code)
    post_chat(http, {"model": "m", "messages": []})  # a 400: consumes nothing
    for _ in range(2):
        statuses.append(post_chat(http).status_code)

    assert statuses == [429, 500, 200, 429, 500]
    assert server.stats()["script_remaining"] == 0


def test_fault_draws_are_reproducible_from_the_seed() -> None:
    faults = {"rate_limit": 0.3, "server_error": 0.3}

    def statuses(seed: int) -> list[int]:
        with FakeLLMServer(FakeLLMConfig(faults=faults, seed=seed)) as running, httpx.Client() as c:
            url = f"{running.base_url}/chat/completions"
            return [c.post(url, json=chat_body()).status_code for _ in range(30)]

    first = statuses(7)
    assert statuses(7) == first
    assert {200, 429, 500} <= set(first)
    assert statuses(8) != first


def test_stats_count_requests_outcomes_in_flight_and_tokens_and_reset_clears_them(
    http: httpx.Client, server: FakeLLMServer
) -> None:
    server.update(script=["ok", "429", "empty"])
    answers = [post_chat(http) for _ in range(3)]

    stats = http.get("/_stats").json()

    assert stats["requests"] == 3
    outcomes = {name: count for name, count in stats["outcomes"].items() if count}
    assert outcomes == {"ok": 1, "rate_limit": 1, "empty": 1}
    assert stats["in_flight"] == 0 and stats["max_in_flight"] == 1
    served = [a.json()["usage"] for a in answers if a.status_code == 200]
    assert stats["prompt_tokens"] == sum(u["prompt_tokens"] for u in served) > 0
    assert stats["completion_tokens"] == sum(u["completion_tokens"] for u in served) > 0
    assert len(http.get("/_requests").json()["requests"]) == 3

    reset = http.post("/_reset").json()
    assert reset["requests"] == 0 and reset["prompt_tokens"] == 0
    assert not any(reset["outcomes"].values())
    assert http.get("/_requests").json()["requests"] == []


def test_the_control_endpoint_changes_the_config_at_run_time(
    http: httpx.Client, server: FakeLLMServer
) -> None:
    changed = http.post("/_control", json={"script": ["500", "ok"], "latency_ms": 5}).json()
    assert changed["script"] == ["server_error", "ok"] and changed["latency_ms"] == 5

    assert post_chat(http).status_code == 500
    assert http.get("/_control").json()["script"] == ["ok"]

    for bad in ({"faults": {"rate_limit": 1.5}}, {"faults": {"nonsense": 0.1}}, {"colour": 1}):
        response = http.post("/_control", json=bad)
        assert response.status_code == 400, bad
        assert "error" in response.json()
    assert server.fake.config.latency_ms == 5


def test_fault_rates_must_be_probabilities_that_sum_to_at_most_one() -> None:
    with pytest.raises(ValueError, match="probability"):
        FakeLLMConfig(faults={"rate_limit": -0.1})
    with pytest.raises(ValueError, match="sum"):
        FakeLLMConfig(faults={"rate_limit": 0.6, "server_error": 0.6})
    with pytest.raises(ValueError, match="unknown outcome"):
        FakeLLMConfig(script=["teapot"])
    assert canonical_outcome("429-retry-after") == "rate_limit_retry_after"


# --- the command --------------------------------------------------------------------------------


def test_the_command_refuses_a_non_loopback_host_unless_told_to() -> None:
    with pytest.raises(CommandError, match="loopback"):
        call_command("fake_llm_server", host="0.0.0.0")
    with pytest.raises(CommandError, match="NAME=RATE"):
        call_command("fake_llm_server", fault=["rate_limit"])


def test_the_command_prints_the_base_url_serves_and_stops_on_ctrl_c() -> None:
    command = [sys.executable, "manage.py", "fake_llm_server", "--port", "0", "--script", "500"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert "serving at http://127.0.0.1:" in first
        base_url = first.split("serving at ")[1].strip()
        assert base_url.endswith("/v1")
        hint = process.stdout.readline() + process.stdout.readline()
        assert f"LLM_BASE_URL={base_url} LLM_API_KEY=fake LLM_MODEL=fake-rules" in hint

        statuses = [
            httpx.post(f"{base_url}/chat/completions", json=chat_body()).status_code
            for _ in range(2)
        ]
        assert statuses == [500, 200]
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Stopped." in rest
