"""A fake OpenAI-compatible chat-completions server that answers from the offline rule labeler."""

from reviewapp.fake_llm.server import FAULTS, OUTCOMES, FakeLLMConfig, FakeLLMServer

__all__ = ["FAULTS", "OUTCOMES", "FakeLLMConfig", "FakeLLMServer"]
