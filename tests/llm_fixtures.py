"""A fake OpenAI-compatible server the LLM labeler talks to over real HTTP, and a clause."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reviewapp.fake_llm.server import FakeLLMConfig, FakeLLMServer
from reviewapp.models import Clause, LabelingJob, LabelingState
from reviewapp.services.labeling import labeler_build

TARGET_CLAUSE = (
    "一、总体要求\n"
    "(一)推动低碳智慧供热体系建设\n"
    "落实全市供热发展建设规划。到2025年,新能源和可再生能源耦合供热面积占比达到10%以上。"
    "到2030年,新能源和可再生能源耦合供热面积占比达到12.5%左右。"
    "(主要责任单位:区城市管理委、区发展改革委、相关街镇)\n"
)


@pytest.fixture
def fake_llm(settings) -> Iterator[FakeLLMServer]:  # type: ignore[no-untyped-def]
    server = FakeLLMServer(FakeLLMConfig(retry_after_s=0.05, timeout_s=5)).start()
    settings.LLM_BASE_URL = server.base_url
    settings.LLM_API_KEY = "fake"
    settings.LLM_MODEL = "fake-rules"
    settings.LLM_MODE = "tools"
    settings.LLM_TIMEOUT = 1.0
    try:
        yield server
    finally:
        server.stop()


def llm_job(clause: Clause) -> LabelingJob:
    labeler = labeler_build(name="llm")
    return LabelingJob.objects.create(
        clause=clause,
        labeler="llm",
        model=labeler.model,
        prompt_version=labeler.prompt_version,
        state=LabelingState.QUEUED,
    )
