"""Serve the fake OpenAI-compatible LLM (answers from the rule labeler) until Ctrl-C."""

from __future__ import annotations

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.fake_llm.server import DEFAULT_MODEL, FAULTS, FakeLLMConfig, FakeLLMServer

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Command(BaseCommand):
    help = (
        "Serve a fake OpenAI-compatible chat-completions API that answers from the offline rule "
        "labeler, with optional latency, a concurrency limit and injected faults."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
        parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
        parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
        parser.add_argument(
            "--jitter-ms", type=float, default=0.0, help="a uniform 0..J ms added to the latency"
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="max in-flight requests; more get 429 with Retry-After: 1 (default: unlimited)",
        )
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="NAME=RATE",
            help=f"inject a fault with this probability; NAME is one of {', '.join(FAULTS)}",
        )
        parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
        parser.add_argument(
            "--retry-after",
            type=float,
            default=1.0,
            help="Retry-After (s) of rate_limit_retry_after",
        )
        parser.add_argument(
            "--timeout-s", type=float, default=30.0, help="how long the timeout fault hangs"
        )
        parser.add_argument(
            "--script",
            default="",
            help="comma-separated outcomes served first, in order (e.g. 429-retry-after,ok)",
        )
        parser.add_argument(
            "--allow-remote",
            action="store_true",
            help="allow a --host that is not a loopback address",
        )
        parser.add_argument("--log-requests", action="store_true", help="log each request")

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"]
        if host not in LOOPBACK and not options["allow_remote"]:
            raise CommandError(f"--host {host} is not loopback; add --allow-remote to bind it")
        faults: dict[str, float] = {}
        for item in options["fault"]:
            name, sep, rate = item.partition("=")
            try:
                faults[name.strip()] = float(rate)
            except ValueError:
                sep = ""
            if not sep:
                raise CommandError(f"--fault {item!r}: expected NAME=RATE, e.g. rate_limit=0.05")
        script = [s for s in (part.strip() for part in options["script"].split(",")) if s]
        try:
            config = FakeLLMConfig(
                latency_ms=options["latency_ms"],
                jitter_ms=options["jitter_ms"],
                concurrency=options["concurrency"],
                faults=faults,
                seed=options["seed"],
                retry_after_s=options["retry_after"],
                timeout_s=options["timeout_s"],
                script=script,
                log_requests=options["log_requests"],
            )
            server = FakeLLMServer(config, host=host, port=options["port"]).start()
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write(f"Fake LLM (rule labeler) serving at {server.base_url}")
        self.stdout.write("Point the app at it with:")
        self.stdout.write(
            f"  LLM_BASE_URL={server.base_url} LLM_API_KEY=fake LLM_MODEL={DEFAULT_MODEL}"
        )
        self.stdout.write(f"Stats: {server.url}/_stats   Control: POST {server.url}/_control")
        self.stdout.write("Ctrl-C to stop.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            self.stdout.write("Stopped.")
