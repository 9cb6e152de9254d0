"""Static checks of the Docker deployment: docker-compose.yml, Dockerfile and .env.example.

Docker cannot run where the tests run, so instead of starting the stack these tests check that
everything the files refer to exists in the project (Celery apps, the WSGI application,
management commands, settings modules, URL paths, files the Dockerfile copies) and that the
environment variables agree with what reviewapp/settings.py reads.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import pytest
import yaml
from celery import Celery
from celery.bin.celery import celery as celery_cli
from celery.worker.control import Panel
from django.core.management import get_commands
from django.http.request import split_domain_port, validate_host
from django.urls import Resolver404, resolve
from gunicorn.config import Config as GunicornConfig

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS_FILE = ROOT / "reviewapp" / "settings.py"

SERVICES = ("postgres", "redis", "web", "worker", "beat")
APP_SERVICES = ("web", "worker", "beat")
# Environment variables the app services may set that Django reads itself, not settings.py.
READ_OUTSIDE_SETTINGS = {"DJANGO_SETTINGS_MODULE"}
SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash"}
# Celery options (global and of the subcommands used here) that take a separate value.
CELERY_VALUE_OPTIONS = {
    "-A", "--app", "-b", "--broker", "--result-backend", "--loader", "--config", "--workdir",
    "-d", "--destination", "-t", "--timeout", "-l", "--loglevel", "-c", "--concurrency",
    "-Q", "--queues", "-n", "--hostname", "-P", "--pool", "-s", "--schedule", "-S", "--scheduler",
    "-f", "--logfile", "--pidfile",
}  # fmt: skip


# --- Reading the files ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, arguments = (current + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def dockerfile_arguments(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions() if name == keyword]


def docker_command(arguments: str) -> list[str]:
    """A CMD/ENTRYPOINT as argv: the JSON (exec) form as is, the shell form through /bin/sh."""
    if arguments.startswith("["):
        with contextlib.suppress(json.JSONDecodeError):
            words = json.loads(arguments)
            if isinstance(words, list) and all(isinstance(word, str) for word in words):
                return words
    return ["/bin/sh", "-c", arguments]


def dockerfile_entrypoint() -> list[str]:
    entrypoints = dockerfile_arguments("ENTRYPOINT")
    return docker_command(entrypoints[-1]) if entrypoints else []


def dockerfile_cmd() -> list[str]:
    cmds = dockerfile_arguments("CMD")
    return docker_command(cmds[-1]) if cmds else []


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for arguments in dockerfile_arguments("ENV"):
        words = shlex.split(arguments)
        if words and "=" not in words[0]:  # legacy form: ENV NAME value
            name, _, value = arguments.partition(" ")
            env[name] = value.strip()
            continue
        for word in words:
            name, _, value = word.partition("=")
            env[name] = value
    return env


def env_example_lines() -> list[str]:
    assert ENV_EXAMPLE.is_file(), f"{ENV_EXAMPLE} is missing"
    return ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()


def env_example() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in env_example_lines():
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", line.strip())
        if match:
            entries[match[1]] = match[2]
    return entries


def as_argv(command: str | list[Any]) -> list[str]:
    """Compose splits a string command into words itself; it does not run a shell."""
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def service_argv(service: dict[str, Any]) -> list[str]:
    """What the container runs: the entrypoint (the service's, else the Dockerfile's) followed
    by the command (the service's, else the Dockerfile's CMD)."""
    if "entrypoint" in service:
        entrypoint = as_argv(service["entrypoint"])
    else:
        entrypoint = dockerfile_entrypoint()
    command = as_argv(service["command"]) if "command" in service else dockerfile_cmd()
    return entrypoint + command


def healthcheck_argv(service: dict[str, Any]) -> list[str]:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return ["/bin/sh", "-c", test]
    kind, *rest = [str(word) for word in test]
    if kind == "CMD":
        return rest
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(rest)]
    return []


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {name: None if value is None else str(value) for name, value in env.items()}
    pairs = [item.partition("=") for item in env]
    return {name: value if sep else None for name, sep, value in pairs}


def settings_source() -> str:
    return SETTINGS_FILE.read_text(encoding="utf-8")


def env_reads_in_settings() -> dict[str, ast.Call]:
    """Every environment variable settings.py reads through an env_* helper or os.environ /
    os.getenv, with the call that reads it."""
    reads: dict[str, ast.Call] = {}
    for node in ast.walk(ast.parse(settings_source())):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id.startswith("env_"):
            reads[first.value] = node
        elif isinstance(func, ast.Attribute) and (
            (func.attr == "get" and ast.unparse(func.value) == "os.environ")
            or (func.attr == "getenv" and ast.unparse(func.value) == "os")
        ):
            reads[first.value] = node
    return reads


def settings_mentions(name: str) -> bool:
    return re.search(rf"[\"']{re.escape(name)}[\"']", settings_source()) is not None


def accepted_schemes(name: str) -> tuple[str, ...]:
    call = env_reads_in_settings()[name]
    for keyword in call.keywords:
        if keyword.arg == "schemes":
            return ast.literal_eval(keyword.value)
    raise AssertionError(f"settings.py reads {name} without a schemes=... list")


# --- Taking commands apart --------------------------------------------------------------------


def shell_commands(script: str) -> list[tuple[list[str], str]]:
    """The simple commands of a shell script, each with the operator that follows it ("" for
    the last one)."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[tuple[list[str], str]] = []
    words: list[str] = []
    for token in lexer:
        if token and set(token) <= set(";&|()"):
            if words:
                commands.append((words, token))
            words = []
        else:
            words.append(token)
    if words:
        commands.append((words, ""))
    return commands


def simple_commands(argv: list[str]) -> list[tuple[list[str], str]]:
    """The simple commands an argv runs: ``sh -c SCRIPT`` is opened up, ``exec`` and leading
    NAME=value assignments are dropped."""
    while argv and (argv[0] == "exec" or re.fullmatch(r"[A-Za-z_]\w*=.*", argv[0])):
        argv = argv[1:]
    if not argv:
        return []
    if argv[0] in SHELLS and len(argv) >= 3 and re.fullmatch(r"-[a-z]*c", argv[1]):
        found: list[tuple[list[str], str]] = []
        for words, shell_operator in shell_commands(argv[2]):
            inner = simple_commands(words)
            if inner:
                found += [*inner[:-1], (inner[-1][0], shell_operator)]
        return found
    return [(argv, "")]


def program_and_args(command: list[str]) -> tuple[str, list[str]]:
    """('celery', args) for `celery …` and `python -m celery …`, ('manage.py', args) for
    `python manage.py …`, ('python -c', [code]) for `python -c CODE`."""
    program, args = Path(command[0]).name, command[1:]
    if re.fullmatch(r"python[\d.]*", program) and args:
        if args[0] == "-m" and len(args) >= 2:
            program, args = args[1], args[2:]
        elif args[0] == "-c" and len(args) >= 2:
            program, args = "python -c", args[1:2]
        elif args[0].endswith(".py"):
            program, args = Path(args[0]).name, args[1:]
    return program, args


def import_problem(module_name: str) -> str | None:
    try:
        importlib.import_module(module_name)
    except Exception as exc:
        return f"cannot import {module_name!r}: {exc!r}"
    return None


def celery_problems(args: list[str]) -> list[str]:
    positionals, app_name, skip = [], None, False
    for index, word in enumerate(args):
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            name, has_value, value = word.partition("=")
            if name in ("-A", "--app"):
                if has_value:
                    app_name = value
                elif index + 1 < len(args):
                    app_name = args[index + 1]
            skip = not has_value and name in CELERY_VALUE_OPTIONS
        else:
            positionals.append(word)
    problems = []
    if app_name is None:
        problems.append("celery without -A/--app")
    else:
        module_name, _, attribute = app_name.partition(":")
        problem = import_problem(module_name)
        if problem:
            problems.append(f"-A {app_name}: {problem}")
        else:
            app = getattr(importlib.import_module(module_name), attribute or "app", None)
            if not isinstance(app, Celery):
                problems.append(f"-A {app_name}: {attribute or 'app'} is {app!r}, not a Celery app")
    if not positionals or positionals[0] not in celery_cli.commands:
        problems.append(f"celery has no subcommand {positionals[:1]}")
    elif positionals[0] in ("inspect", "control"):
        kind = positionals[0]
        method = positionals[1] if len(positionals) > 1 else None
        if method not in Panel.meta or Panel.meta[method].type != kind:
            problems.append(f"celery {kind} has no command {method!r}")
    return problems


def gunicorn_options(args: list[str]) -> Any:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            return GunicornConfig().parser().parse_args(args)
        except SystemExit:
            raise ValueError(stderr.getvalue().strip().splitlines()[-1]) from None


def gunicorn_problems(args: list[str]) -> list[str]:
    try:
        options = gunicorn_options(args)
    except ValueError as exc:
        return [f"gunicorn {shlex.join(args)}: {exc}"]
    if len(options.args) != 1 or options.args[0].count(":") != 1:
        return [f"gunicorn needs one MODULE:ATTRIBUTE argument, got {options.args}"]
    module_name, attribute = options.args[0].split(":")
    problem = import_problem(module_name)
    if problem:
        return [f"gunicorn {options.args[0]}: {problem}"]
    application = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(application):
        return [f"gunicorn {options.args[0]}: {attribute} is {application!r}, not a WSGI app"]
    return []


def manage_py_problems(args: list[str]) -> list[str]:
    problems = [] if (ROOT / "manage.py").is_file() else ["manage.py is not at the project root"]
    return problems + django_admin_problems(args)


def django_admin_problems(args: list[str]) -> list[str]:
    if not args or args[0] not in get_commands():
        return [f"no Django management command {args[:1]}"]
    return []


def python_code_problems(args: list[str]) -> list[str]:
    code = args[0]
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"python -c code does not compile: {exc}"]
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            problems += filter(None, (import_problem(alias.name) for alias in node.names))
        elif isinstance(node, ast.ImportFrom) and node.module:
            problem = import_problem(node.module)
            if problem:
                problems.append(problem)
                continue
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name) and import_problem(
                    f"{node.module}.{alias.name}"
                ):
                    problems.append(f"{node.module} has no {alias.name}")
    for url in re.findall(r"https?://[^\s'\"]+", code):
        path = urlsplit(url).path or "/"
        try:
            resolve(path)
        except Resolver404:
            problems.append(f"{url}: no URL pattern matches {path}")
    return problems


CHECKERS = {
    "celery": celery_problems,
    "gunicorn": gunicorn_problems,
    "manage.py": manage_py_problems,
    "django-admin": django_admin_problems,
    "python -c": python_code_problems,
}


def settings_option_problems(args: list[str]) -> list[str]:
    problems = []
    for index, word in enumerate(args):
        if word == "--settings" or word.startswith("--settings="):
            value = word.partition("=")[2] or (args[index + 1] if index + 1 < len(args) else "")
            problem = import_problem(value)
            if problem:
                problems.append(f"--settings {value}: {problem}")
    return problems


def command_problems(argv: list[str], where: str) -> list[str]:
    """Everything wrong with what an argv runs; an empty list when all of it exists."""
    commands = simple_commands(argv)
    if not commands:
        return [f"{where}: runs nothing"]
    problems = []
    if not (argv and argv[0] in SHELLS):
        shell_words = [word for word in argv if word in {"&&", "||", ";", "|"}]
        if shell_words:
            problems.append(f"{where}: {shell_words} outside a shell (use sh -c '…')")
    for command, _ in commands:
        program, args = program_and_args(command)
        check = CHECKERS.get(program)
        if check is None:
            problems.append(f"{where}: this test cannot check `{shlex.join(command)}`; extend it")
            continue
        found = check(args) + settings_option_problems(args)
        problems += [f"{where}: {problem}" for problem in found]
    return problems


def find_command(argv: list[str], program: str) -> tuple[int, list[str], str]:
    for index, (command, operator) in enumerate(simple_commands(argv)):
        name, args = program_and_args(command)
        if name == program:
            return index, args, operator
    raise AssertionError(f"{shlex.join(argv)} does not run {program}")


# --- docker-compose.yml -----------------------------------------------------------------------


def test_compose_defines_the_five_services(services: dict[str, Any]) -> None:
    assert set(SERVICES) <= set(services), f"missing: {set(SERVICES) - set(services)}"


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_has_a_healthcheck(services: dict[str, Any], name: str) -> None:
    healthcheck = services[name].get("healthcheck")
    assert isinstance(healthcheck, dict), f"{name} has no healthcheck"
    assert not healthcheck.get("disable"), f"{name} disables its healthcheck"
    assert healthcheck.get("test") not in (None, [], "", ["NONE"]), f"{name}: no healthcheck test"


def test_postgres_and_redis_use_the_expected_images_and_readiness_probes(
    services: dict[str, Any],
) -> None:
    assert str(services["postgres"]["image"]).startswith("postgres:16")
    assert str(services["redis"]["image"]).startswith("redis:7")
    assert "pg_isready" in shlex.join(healthcheck_argv(services["postgres"]))
    assert "redis-cli ping" in shlex.join(healthcheck_argv(services["redis"]))


def test_postgres_keeps_its_data_in_a_named_volume(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes") or {})
    mounts = []
    for volume in compose["services"]["postgres"].get("volumes") or []:
        if isinstance(volume, dict):
            mounts.append((volume.get("source"), volume.get("target")))
        else:
            source, _, target = str(volume).partition(":")
            mounts.append((source, target.split(":")[0]))
    assert any(
        source in named and target == "/var/lib/postgresql/data" for source, target in mounts
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_is_built_from_the_dockerfile_at_the_root(
    services: dict[str, Any], name: str
) -> None:
    build = services[name].get("build")
    context = build.get("context", ".") if isinstance(build, dict) else build
    dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
    assert context is not None, f"{name} is not built from the project"
    assert (COMPOSE_FILE.parent / context).resolve() == ROOT
    assert (ROOT / dockerfile).resolve() == DOCKERFILE


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_reads_env_file_and_waits_for_healthy_postgres_and_redis(
    services: dict[str, Any], name: str
) -> None:
    service = services[name]
    env_files = service.get("env_file")
    env_files = env_files if isinstance(env_files, list) else [env_files]
    paths = [item["path"] if isinstance(item, dict) else item for item in env_files]
    assert ".env" in paths, f"{name} does not use env_file: .env"
    depends_on = service.get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form with conditions"
    assert {"postgres", "redis"} <= set(depends_on)
    for dependency, spec in depends_on.items():
        assert (spec or {}).get("condition") == "service_healthy", f"{name} -> {dependency}"
        assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_points_database_url_and_redis_url_at_the_compose_services(
    services: dict[str, Any], name: str
) -> None:
    env = environment(services[name])
    database_url, redis_url = env.get("DATABASE_URL"), env.get("REDIS_URL")
    assert database_url and redis_url, f"{name} must set DATABASE_URL and REDIS_URL"

    assert urlsplit(database_url).scheme in accepted_schemes("DATABASE_URL")
    database = dj_database_url.parse(database_url)
    postgres = environment(services["postgres"])
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["HOST"] == "postgres"
    assert database["PORT"] in ("", None, 5432)
    assert database["NAME"] == postgres.get("POSTGRES_DB", postgres.get("POSTGRES_USER"))
    assert database["USER"] == postgres.get("POSTGRES_USER", "postgres")
    assert database["PASSWORD"] == postgres.get("POSTGRES_PASSWORD")

    redis = urlsplit(redis_url)
    assert redis.scheme in accepted_schemes("REDIS_URL")
    assert redis.hostname == "redis" and redis.port in (None, 6379)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_command_of_the_app_services_refers_to_things_that_exist(
    services: dict[str, Any], name: str
) -> None:
    service = services[name]
    problems = command_problems(service_argv(service), f"{name} command")
    problems += command_problems(healthcheck_argv(service), f"{name} healthcheck")
    assert problems == []


def test_web_runs_migrations_and_only_then_gunicorn(services: dict[str, Any]) -> None:
    argv = service_argv(services["web"])
    migrate_at, migrate_args, operator = find_command(argv, "manage.py")
    gunicorn_at, _, _ = find_command(argv, "gunicorn")
    assert migrate_args[:1] == ["migrate"]
    assert migrate_at < gunicorn_at
    assert operator == "&&", "gunicorn must not start when the migrations fail"


@pytest.mark.parametrize(("name", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_worker_and_beat_run_their_celery_subcommand(
    services: dict[str, Any], name: str, subcommand: str
) -> None:
    _, args, _ = find_command(service_argv(services[name]), "celery")
    assert subcommand in args


def test_web_healthcheck_requests_the_login_page_on_the_gunicorn_port_with_an_allowed_host(
    services: dict[str, Any],
) -> None:
    web = services["web"]
    _, gunicorn_args, _ = find_command(service_argv(web), "gunicorn")
    ports = {bind.rpartition(":")[2] for bind in gunicorn_options(gunicorn_args).bind}
    urls = re.findall(r"https?://[^\s'\"]+", shlex.join(healthcheck_argv(web)))
    assert len(urls) == 1, f"expected one URL in the web healthcheck, found {urls}"
    url = urlsplit(urls[0])
    assert str(url.port or 80) in ports, f"healthcheck port {url.port}, gunicorn binds {ports}"
    assert resolve(url.path).url_name == "login"
    allowed_hosts = [host.strip() for host in env_example()["ALLOWED_HOSTS"].split(",")]
    domain, _ = split_domain_port(url.netloc)
    assert validate_host(domain, allowed_hosts), (
        f"healthcheck host {domain} is not in .env.example ALLOWED_HOSTS {allowed_hosts}"
    )


def test_web_publishes_the_port_gunicorn_binds(services: dict[str, Any]) -> None:
    web = services["web"]
    _, gunicorn_args, _ = find_command(service_argv(web), "gunicorn")
    ports = {bind.rpartition(":")[2] for bind in gunicorn_options(gunicorn_args).bind}
    published = []
    for port in web.get("ports") or []:
        target = port.get("target") if isinstance(port, dict) else str(port).rpartition(":")[2]
        published.append(str(target).split("/")[0])
    assert published and set(published) <= ports, f"publishes {published}, binds {ports}"


# --- Environment variables --------------------------------------------------------------------


def test_settings_py_reads_its_configuration_through_the_env_helpers() -> None:
    reads = env_reads_in_settings()
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"} <= set(reads), sorted(reads)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_variable_set_in_compose_is_read_in_settings_py(
    services: dict[str, Any], name: str
) -> None:
    unknown = [
        variable
        for variable in environment(services[name])
        if variable not in READ_OUTSIDE_SETTINGS and not settings_mentions(variable)
    ]
    assert unknown == [], f"{name} sets variables reviewapp/settings.py never reads: {unknown}"


def test_every_variable_in_env_example_is_read_in_settings_py() -> None:
    unknown = [
        variable
        for variable in env_example()
        if variable not in READ_OUTSIDE_SETTINGS and not settings_mentions(variable)
    ]
    assert unknown == [], f".env.example lists variables settings.py never reads: {unknown}"


def test_every_variable_settings_py_reads_is_in_env_example() -> None:
    missing = sorted(set(env_reads_in_settings()) - set(env_example()))
    assert missing == [], f"settings.py reads variables .env.example does not list: {missing}"


def test_env_example_has_one_commented_name_value_line_per_variable() -> None:
    lines = env_example_lines()
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=([^#\s]*)", stripped)
        assert match, f".env.example:{number}: expected NAME=value (no spaces, quotes or #)"
        assert match[1] not in seen, f".env.example:{number}: {match[1]} is listed twice"
        seen.add(match[1])
        previous = lines[number - 2].strip() if number >= 2 else ""
        assert previous.startswith("#"), f".env.example:{number}: {match[1]} has no comment above"


def test_env_example_has_safe_values() -> None:
    env = env_example()
    assert env["DEBUG"].lower() in {"0", "false", "no", "off"}
    assert "change-me" in env["SECRET_KEY"], "SECRET_KEY must be an obvious placeholder"
    assert not env.get("LLM_API_KEY"), "no real-looking API key in .env.example"


def test_every_settings_module_named_in_the_deployment_is_importable(
    services: dict[str, Any],
) -> None:
    values = {"Dockerfile ENV": dockerfile_env().get("DJANGO_SETTINGS_MODULE")}
    values[".env.example"] = env_example().get("DJANGO_SETTINGS_MODULE")
    for name in APP_SERVICES:
        values[f"{name} environment"] = environment(services[name]).get("DJANGO_SETTINGS_MODULE")
    assert values["Dockerfile ENV"], "the Dockerfile must set ENV DJANGO_SETTINGS_MODULE"
    problems = [
        f"{where}: {problem}"
        for where, value in values.items()
        if value and (problem := import_problem(value))
    ]
    assert problems == []


# --- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_builds_from_python_3_11_slim_and_pip_installs_the_project() -> None:
    assert DOCKERFILE.is_file(), "Dockerfile is missing"
    assert dockerfile_arguments("FROM")[0].split()[0] == "python:3.11-slim"
    assert any(
        re.search(r"\bpip install (\S+ )*\.(\s|$)", run) for run in dockerfile_arguments("RUN")
    )


def test_dockerfile_copies_only_paths_that_exist() -> None:
    missing = []
    for arguments in dockerfile_arguments("COPY") + dockerfile_arguments("ADD"):
        words = shlex.split(arguments)
        if any(word.startswith("--from") for word in words):
            continue  # copied from another build stage
        sources = [word for word in words if not word.startswith("--")][:-1]
        missing += [
            source
            for source in sources
            if not (ROOT / source).exists()
            and not (set(source) & set("*?[") and any(ROOT.glob(source)))
        ]
    assert missing == []


def test_dockerfile_copies_manage_py_into_the_final_working_directory() -> None:
    workdir, copied = "/", set()
    for keyword, arguments in dockerfile_instructions():
        if keyword == "WORKDIR":
            workdir = str(Path(workdir, arguments))
        elif keyword == "COPY":
            *sources, destination = shlex.split(arguments)
            target = Path(workdir, destination)
            for source in sources:
                if source in (".", "./"):
                    copied.add(str(target / "manage.py"))
                elif Path(source).name == "manage.py":
                    is_dir = destination.endswith("/") or destination in (".", "./")
                    copied.add(str(target / "manage.py" if is_dir else target))
    assert str(Path(workdir, "manage.py")) in copied, f"manage.py not copied into {workdir}"


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = dockerfile_arguments("USER")
    assert users, "the Dockerfile has no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_cmd_and_entrypoint_refer_to_things_that_exist() -> None:
    argv = dockerfile_entrypoint() + dockerfile_cmd()
    if not argv:
        pytest.skip("the Dockerfile has neither CMD nor ENTRYPOINT")
    assert command_problems(argv, "Dockerfile CMD/ENTRYPOINT") == []
