"""A global rate limit for the LLM provider: requests and tokens per minute, shared by every
worker through Redis, so that many workers together never exceed the provider's limits.

Two token buckets (requests, tokens) are checked and taken together in one Lua script, with the
Redis server's clock, so the check is atomic across workers. Without Redis (the demo) the same
buckets live in the process.
"""

from __future__ import annotations

import threading
import time

RATE_LIMIT_WAIT_TOO_LONG = "The shared LLM rate limit would make this request wait {seconds:.0f} s."

_LUA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rpm, tpm, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function bucket(key, capacity, need)
  if capacity <= 0 then return 0, nil end
  local state = redis.call('HMGET', key, 'level', 'at')
  local level = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  level = math.min(capacity, level + (now - at) * capacity / 60)
  need = math.min(need, capacity)
  if level >= need then return 0, level - need end
  return (need - level) * 60 / capacity, level
end
local wait_r, left_r = bucket(KEYS[1], rpm, 1)
local wait_t, left_t = bucket(KEYS[2], tpm, want)
local wait = math.max(wait_r, wait_t)
if wait > 0 then return tostring(wait) end
if rpm > 0 then redis.call('HSET', KEYS[1], 'level', left_r, 'at', now); redis.call('EXPIRE', KEYS[1], 120) end
if tpm > 0 then redis.call('HSET', KEYS[2], 'level', left_t, 'at', now); redis.call('EXPIRE', KEYS[2], 120) end
return '0'
"""


class RateLimitWaitTooLong(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(RATE_LIMIT_WAIT_TOO_LONG.format(seconds=seconds))
        self.seconds = seconds


class RateLimiter:
    def __init__(
        self,
        *,
        requests_per_minute: int,
        tokens_per_minute: int,
        redis_url: str | None = None,
        name: str = "llm",
        max_wait_seconds: float = 30.0,
    ) -> None:
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self.max_wait = max_wait_seconds
        self.keys = [f"ratelimit:{name}:requests", f"ratelimit:{name}:tokens"]
        self._redis = None
        self._script = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)
            self._script = self._redis.register_script(_LUA)
        self._lock = threading.Lock()
        self._local: dict[str, tuple[float, float]] = {}

    @property
    def enabled(self) -> bool:
        return self.rpm > 0 or self.tpm > 0

    def acquire(self, *, tokens: int) -> float:
        """Block until one request of ``tokens`` may go. Returns the seconds waited."""
        if not self.enabled:
            return 0.0
        waited = 0.0
        while True:
            wait = self._try(tokens)
            if wait <= 0:
                return waited
            if waited + wait > self.max_wait:
                raise RateLimitWaitTooLong(waited + wait)
            time.sleep(wait)
            waited += wait

    def _try(self, tokens: int) -> float:
        if self._script is not None:
            return float(self._script(keys=self.keys, args=[self.rpm, self.tpm, tokens]))
        with self._lock:
            now = time.monotonic()
            waits: list[float] = []
            levels: list[float | None] = []
            for key, capacity, need in (
                (self.keys[0], self.rpm, 1),
                (self.keys[1], self.tpm, tokens),
            ):
                if capacity <= 0:
                    waits.append(0.0)
                    levels.append(None)
                    continue
                level, at = self._local.get(key, (float(capacity), now))
                level = min(capacity, level + (now - at) * capacity / 60)
                need = min(need, capacity)
                waits.append(0.0 if level >= need else (need - level) * 60 / capacity)
                levels.append(level - need)
            if max(waits) > 0:
                return max(waits)
            for key, left in zip(self.keys, levels, strict=True):
                if left is not None:
                    self._local[key] = (left, now)
            return 0.0
