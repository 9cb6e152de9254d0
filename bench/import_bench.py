"""Import benchmark: the five seed plans, then N generated plans, through ``plans_import``.

Run from the project root::

    python bench/import_bench.py [--plans N] [--processes N] [--batch-size N] [--profile]

The database is never the project's ``db.sqlite3``. Without ``DATABASE_URL`` the benchmark uses a
fresh SQLite file in a temporary directory; with ``DATABASE_URL`` (e.g. PostgreSQL) it creates a
throw-away test database next to the given one with Django's test-database machinery, and drops it
at the end. Migrations run before anything is timed.

Generated plans are built from the seeds' own lines (noise included: blank lines, breadcrumbs,
page numbers, responsibility notes), with another region name, shifted dates, a new document
number, perturbed quantities and the task sections in another order. The generator is
deterministic (fixed random seed); every plan has distinct bytes. 10% of them, at random
positions, are encoded as GB18030 and 5% as UTF-8 with a BOM; the rest as plain UTF-8.

Targets: the five seeds in under 1 s; 1,000 generated plans in under 60 s (scaled with
``--plans``). The parser pool is started by a warm-up before anything is timed; its start-up time
is reported on its own, and so is the time the parent spends waiting on the pool (measured by
wrapping the service's private ``_parse_chunk``). Exits 1 if a target or a sanity check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import cProfile

    from reviewapp.services.plan_import import FileOutcome

# Run as a script, this file's folder (bench/) is first on sys.path.
from _common import SEEDS_DIR, django_test_database, ru_maxrss_mb

RANDOM_SEED = 20240528
SEEDS_TARGET_SECONDS = 1.0
PLANS_TARGET_SECONDS_PER_1000 = 60.0
GB18030_SHARE = 0.10
UTF8_BOM_SHARE = 0.05

# Replacement place names, by the city a district belongs to; cities for city-level plans.
DISTRICTS = {
    "北京": "东城 西城 朝阳 丰台 石景山 门头沟 房山 通州 顺义 大兴 怀柔 平谷 密云 延庆",
    "上海": "黄浦 徐汇 长宁 静安 普陀 虹口 闵行 宝山 嘉定 金山 松江 青浦 奉贤 崇明",
    "天津": "和平 河东 河西 河北 红桥 东丽 西青 津南 北辰 武清 宝坻 宁河 静海 蓟州",
}
OTHER_DISTRICTS = "鼓楼 玄武 秦淮 建邺 栖霞 雨花台 江宁 浦口 六合 溧水 高淳 锡山 惠山 滨湖"
CITIES = "无锡 常州 南通 扬州 镇江 泰州 盐城 淮安 宿迁 徐州 连云港 嘉兴 湖州 绍兴 金华 台州"

_NUM_ZH = "一二三四五六七八九十"
_DATE_ZH_RE = re.compile(r"(\d{4})(\s*)年(\s*)(\d{1,2})(\s*)月(\s*)(\d{1,2})(\s*)日")
_DATE_ISO_RE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_QUANTITY_RE = re.compile(
    r"(?<![\d.〔])(\d+(?:\.\d+)?)(?=\s*(?:%|％|万|亿|个|家|项|处|座|辆|台|套|公顷|亩|平方米|千瓦|吨|倍|所))"
)
_HEAT_RE = re.compile(r"^(热度\s*[:：]\s*)\d+", re.M)
_LABEL_RES = {
    1: re.compile(rf"^(\s*)([{_NUM_ZH}]{{1,3}})(、)"),
    2: re.compile(rf"^(\s*[(（])([{_NUM_ZH}]{{1,3}})([)）])"),
    3: re.compile(r"^(\s*)(\d{1,2})(\s*[.．、])"),
}
_KEEP_ORDER_RE = re.compile(r"总体要求|指导思想|原则|目标|附件")


# --- generating plans ---------------------------------------------------------------------------


def zh_number(n: int) -> str:
    """1..99 as written in headings: 一, 十, 十一, 二十三."""
    tens, ones = divmod(n, 10)
    if n < 10:
        return _NUM_ZH[n - 1]
    return (_NUM_ZH[tens - 1] if tens > 1 else "") + "十" + (_NUM_ZH[ones - 1] if ones else "")


def zh_value(numeral: str) -> int:
    if "十" not in numeral:
        return _NUM_ZH.index(numeral) + 1
    tens, _, ones = numeral.partition("十")
    return (_NUM_ZH.index(tens) + 1 if tens else 1) * 10 + (_NUM_ZH.index(ones) + 1 if ones else 0)


@dataclass
class Section:
    """A level-1 section: its heading line and intro, then its level-2 blocks."""

    intro: list[str]
    blocks: list[list[str]] = field(default_factory=list)

    def title(self) -> str:
        return self.intro[0].strip()

    def lines(self) -> list[str]:
        return self.intro + [line for block in self.blocks for line in block]


@dataclass(frozen=True)
class Seed:
    name: str
    trailing_newline: bool
    head: list[str]  # lines before the first level-1 heading
    sections: list[Section]
    tail: list[str]  # from the first attachment on: never reordered
    stem: str  # the place name the plan is about (海淀, 苏州)
    pool: list[str]  # names to put in its place
    doc_re: re.Pattern[str] | None  # the plan's own document number, as written
    doc_prefix: str
    doc_year: int
    issue_date: dt.date
    continuous_items: bool  # 1. 2. … numbered across sections (Suzhou) rather than per section


def _level(raw: str) -> int | None:
    from reviewapp.importing import lines as L
    from reviewapp.importing.cleaning import normalize_line

    line = normalize_line(raw)
    heading = L.heading_of(line)
    if heading is None:
        return None
    if L.ATTACHMENT_RE.match(line):
        return 0  # an attachment: everything from here on stays as it is
    return heading.level


def _structure(lines: list[str]) -> tuple[list[str], list[Section], list[str]]:
    head: list[str] = []
    sections: list[Section] = []
    for index, raw in enumerate(lines):
        level = _level(raw)
        if level == 0:
            return head, sections, lines[index:]
        if level == 1:
            sections.append(Section(intro=[raw]))
        elif not sections:
            head.append(raw)
        elif level == 2:
            sections[-1].blocks.append([raw])
        elif sections[-1].blocks:
            sections[-1].blocks[-1].append(raw)
        else:
            sections[-1].intro.append(raw)
    return head, sections, []


def _items_run_on(sections: list[Section]) -> bool:
    """Whether items (1. 2. …) are numbered across the plan (Suzhou): some (一)-level block's
    first item is not 1."""
    for section in sections:
        for block in section.blocks:
            for raw in block[1:]:
                match = _LABEL_RES[3].match(raw) if _level(raw) == 3 else None
                if match:
                    if int(match.group(2)) != 1:
                        return True
                    break
    return False


def load_seed(path: Path) -> Seed:
    from reviewapp.importing.formats import Limits
    from reviewapp.importing.parsing import parse_plan

    data = path.read_bytes()
    text = data.decode("utf-8-sig")
    parsed = parse_plan(path.name, data, Limits())
    units = re.findall(r"([\u4e00-\u9fff]+?)(?:省|自治区|市|区|县|旗)", parsed.region)
    stem = units[-1] if units else ""
    if parsed.region.endswith("市"):
        pool = CITIES.split()
    else:
        pool = DISTRICTS.get(units[0] if len(units) > 1 else "", OTHER_DISTRICTS).split()
    pool = [name for name in pool if name != stem]
    doc = re.match(r"^(.+?)〔(\d{4})〕(\d{1,4})号$", parsed.document_number)
    doc_re = None
    if doc:
        prefix, year, number = doc.groups()
        doc_re = re.compile(
            rf"{re.escape(prefix)}(\s*〔\s*){year}(\s*〕\s*)(?<!\d){number}(?!\d)(\s*号)"
        )
    lines = text.splitlines()
    head, sections, tail = _structure(lines)
    return Seed(
        name=path.stem,
        trailing_newline=text.endswith("\n"),
        head=head,
        sections=sections,
        tail=tail,
        stem=stem,
        pool=pool,
        doc_re=doc_re,
        doc_prefix=doc.group(1) if doc else "",
        doc_year=int(doc.group(2)) if doc else 0,
        issue_date=parsed.issue_date or dt.date(2022, 6, 30),
        continuous_items=_items_run_on(sections),
    )


def _relabel(raw: str, level: int, number: int) -> str:
    label = str(number) if level == 3 else zh_number(number)
    return _LABEL_RES[level].sub(lambda m: m.group(1) + label + m.group(3), raw, count=1)


def _labels_in_order(lines: list[str], level: int) -> bool:
    numbers = []
    for raw in lines:
        match = _LABEL_RES[level].match(raw)
        if not match:
            return False
        numbers.append(zh_value(match.group(2)))
    return numbers == list(range(1, len(numbers) + 1))


def _shuffled_sections(seed: Seed, rng: random.Random) -> list[Section]:
    """The sections with task blocks in another order, labels renumbered to match."""
    sections = [Section(list(s.intro), [list(b) for b in s.blocks]) for s in seed.sections]
    # Runs of consecutive "…行动" sections (Haidian: 三 to 九) are reordered among themselves.
    if _labels_in_order([s.intro[0] for s in sections], 1):
        start = 0
        while start < len(sections):
            end = start
            while end < len(sections) and "行动" in sections[end].title():
                end += 1
            if end - start >= 2:
                run = sections[start:end]
                rng.shuffle(run)
                sections[start:end] = run
            start = max(end, start + 1)
        for number, section in enumerate(sections, 1):
            section.intro[0] = _relabel(section.intro[0], 1, number)
    # Within a task section, the (一) (二) … blocks are reordered.
    for section in sections:
        if len(section.blocks) < 2 or _KEEP_ORDER_RE.search(section.title()):
            continue
        if not _labels_in_order([b[0] for b in section.blocks], 2):
            continue
        rng.shuffle(section.blocks)
        for number, block in enumerate(section.blocks, 1):
            block[0] = _relabel(block[0], 2, number)
    if seed.continuous_items:  # items numbered 1…n across the plan: renumber in the new order
        counter = 0
        for section in sections:
            for block in [section.intro, *section.blocks]:
                for index, raw in enumerate(block):
                    if _level(raw) == 3 and _LABEL_RES[3].match(raw):
                        counter += 1
                        block[index] = _relabel(raw, 3, counter)
    return sections


def _perturb_quantity(match: re.Match[str], rng: random.Random) -> str:
    raw = match.group(1)
    value = float(raw)
    factor = rng.uniform(0.75, 1.3)
    if "." in raw:
        decimals = len(raw.split(".")[1])
        return f"{max(value * factor, 10**-decimals):.{decimals}f}"
    if value == 100:
        return raw  # "100%" coverage stays a full coverage
    new = max(1, round(value * factor))
    return str(min(new, 99) if value < 100 else new)


def _shift_dates(text: str, days: int) -> str:
    delta = dt.timedelta(days=days)

    def zh(m: re.Match[str]) -> str:
        try:
            day = dt.date(int(m.group(1)), int(m.group(4)), int(m.group(7))) + delta
        except ValueError:
            return m.group(0)
        g = m.groups()
        return f"{day.year}{g[1]}年{g[2]}{day.month}{g[4]}月{g[5]}{day.day}{g[7]}日"

    def iso(m: re.Match[str]) -> str:
        try:
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) + delta
        except ValueError:
            return m.group(0)
        return day.isoformat()

    return _DATE_ISO_RE.sub(iso, _DATE_ZH_RE.sub(zh, text))


def generate_text(seed: Seed, rng: random.Random) -> str:
    sections = _shuffled_sections(seed, rng)
    lines = seed.head + [line for s in sections for line in s.lines()] + seed.tail
    text = "\n".join(lines) + ("\n" if seed.trailing_newline else "")
    new_stem = rng.choice(seed.pool)
    days = rng.randint(-420, 420)
    if seed.doc_re is not None:
        if seed.stem and seed.stem in seed.doc_prefix:
            prefix = seed.doc_prefix.replace(seed.stem, new_stem)
        elif seed.stem and seed.doc_prefix.startswith(seed.stem[0]):
            prefix = new_stem[0] + seed.doc_prefix[1:]
        else:
            prefix = seed.doc_prefix
        year = seed.doc_year + (
            (seed.issue_date + dt.timedelta(days=days)).year - seed.issue_date.year
        )
        number = rng.randint(1, 60)
        text = seed.doc_re.sub(lambda m: f"{prefix}{m[1]}{year}{m[2]}{number}{m[3]}", text)
    if seed.stem:
        text = text.replace(seed.stem, new_stem)
    text = _shift_dates(text, days)
    text = _QUANTITY_RE.sub(lambda m: _perturb_quantity(m, rng), text)
    return _HEAT_RE.sub(lambda m: f"{m[1]}{rng.randint(1, 5000)}", text)


def generate_plans(
    seeds: list[Seed], count: int, taken: set[str]
) -> tuple[list[tuple[str, bytes]], Counter[str]]:
    """``count`` plans with distinct bytes (none equal to ``taken`` digests); deterministic."""
    rng = random.Random(RANDOM_SEED)
    files: list[tuple[str, bytes]] = []
    encodings: Counter[str] = Counter()
    seen = set(taken)
    special = rng.sample(range(count), round(count * GB18030_SHARE) + round(count * UTF8_BOM_SHARE))
    gb18030 = set(special[: round(count * GB18030_SHARE)])
    with_bom = set(special[round(count * GB18030_SHARE) :])
    for index in range(count):
        seed = seeds[index % len(seeds)]
        encoding = "gb18030" if index in gb18030 else "utf-8"
        bom = index in with_bom
        for _attempt in range(50):
            data = generate_text(seed, rng).encode(encoding)
            data = b"\xef\xbb\xbf" + data if bom else data
            digest = hashlib.sha256(data).hexdigest()
            if digest not in seen:
                break
        else:
            raise RuntimeError(f"could not generate a distinct plan from {seed.name}")
        seen.add(digest)
        encodings["utf-8 + BOM" if bom else encoding] += 1
        files.append((f"generated-{index + 1:05d}-{seed.name}.txt", data))
    return files, encodings


# --- database -----------------------------------------------------------------------------------


def setup_django(processes: int | None, tmpdir: Path) -> tuple[str, Callable[[], None]]:
    """Configure and set up Django on a throw-away database. Returns its description and the
    function that drops it."""
    if not os.environ.get("SECRET_KEY") and "DEBUG" not in os.environ:
        # DEBUG off, as in production: with DEBUG on Django logs every query, and on SQLite it
        # re-quotes every parameter for the log, which alone costs ~10% of the import's time.
        os.environ["SECRET_KEY"] = "import-bench-throwaway-key-" + os.urandom(16).hex()
    if processes is not None:
        os.environ["IMPORT_PARSE_PROCESSES"] = str(processes)
    return django_test_database(tmpdir, f"test_import_bench_{os.getpid()}")


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Run:
    files: int
    clauses: int
    seconds: float
    parse_wait: float
    outcomes: list[FileOutcome]


def timed_import(
    files: list[tuple[str, bytes]], batch_size: int, profiler: cProfile.Profile | None = None
) -> Run:
    """Import through ``plans_import``; also the time spent waiting on the parser pool."""
    from reviewapp.services import plan_import

    original = plan_import._parse_chunk
    waited = 0.0

    def parse_chunk_timed(chunk: list) -> list:
        nonlocal waited
        start = time.perf_counter()
        try:
            return original(chunk)
        finally:
            waited += time.perf_counter() - start

    plan_import._parse_chunk = parse_chunk_timed
    outcomes: list[FileOutcome] = []
    size = batch_size or len(files) or 1
    try:
        if profiler is not None:
            profiler.enable()
        start = time.perf_counter()
        for first in range(0, len(files), size):
            _batch, batch_outcomes = plan_import.plans_import(
                files=files[first : first + size], source="cli"
            )
            outcomes.extend(batch_outcomes)
        seconds = time.perf_counter() - start
    finally:
        if profiler is not None:
            profiler.disable()
        plan_import._parse_chunk = original
    clauses = sum(o.clause_count for o in outcomes)
    return Run(len(files), clauses, seconds, waited, outcomes)


def warm_up_pool() -> tuple[float, int]:
    """Start the parser pool (fork server + workers) on tiny inputs. Returns seconds, workers."""
    from reviewapp.importing.sandbox import parse_many
    from reviewapp.services.plan_import import import_limits, sandbox_limits

    sandbox = sandbox_limits()
    tiny = "关于印发《热身实施方案》的通知\n一、总体要求\n（一）加强统筹协调。（责任单位：区发展改革委）\n"
    files = [(f"warm-up-{n}.txt", tiny.encode()) for n in range(sandbox.processes)]
    start = time.perf_counter()
    parse_many(files, import_limits(), sandbox)
    return time.perf_counter() - start, sandbox.processes


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "n/a"


def outcome_problems(run: Run) -> list[str]:
    problems = []
    counts = Counter(o.outcome for o in run.outcomes)
    if len(run.outcomes) != run.files:
        problems.append(f"{len(run.outcomes)} outcomes for {run.files} files")
    if counts.get("imported", 0) != run.files:
        problems.append(f"outcomes {dict(counts)}")
        for o in run.outcomes:
            if o.outcome != "imported":
                problems.append(f"  {o.file_name}: {o.outcome}: {o.message}")
                if len(problems) > 6:
                    break
    empty = [o.file_name for o in run.outcomes if o.outcome == "imported" and o.clause_count <= 0]
    if empty:
        problems.append(f"{len(empty)} plans without clauses, e.g. {empty[0]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=int, default=1000, help="generated plans (default 1000)")
    parser.add_argument(
        "--processes", type=int, default=None, help="parser processes (IMPORT_PARSE_PROCESSES)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=0,
        help="generated plans per plans_import call (default 0: all in one call)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the parent during the generated import"
    )
    args = parser.parse_args(argv)
    if args.plans < 1 or (args.processes is not None and args.processes < 1):
        parser.error("--plans and --processes must be at least 1")

    tmpdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    teardown: Callable[[], None] | None = None
    try:
        database, teardown = setup_django(args.processes, tmpdir)
        return run_benchmark(args, database)
    finally:
        from reviewapp.importing import sandbox

        sandbox._reset_pool()
        if teardown is not None:
            teardown()
        shutil.rmtree(tmpdir, ignore_errors=True)


def run_benchmark(args: argparse.Namespace, database: str) -> int:
    from django.conf import settings

    from reviewapp.models import Clause, Plan

    seed_paths = sorted(SEEDS_DIR.glob("*.txt"))
    seed_files = [(p.name, p.read_bytes()) for p in seed_paths]

    pool_seconds, workers = warm_up_pool()
    seeds_run = timed_import(seed_files, batch_size=0)

    start = time.perf_counter()
    seeds = [load_seed(p) for p in seed_paths]
    taken = {hashlib.sha256(data).hexdigest() for _, data in seed_files}
    generated, encodings = generate_plans(seeds, args.plans, taken)
    generation_seconds = time.perf_counter() - start
    megabytes = sum(len(data) for _, data in generated) / 1e6

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    plans_run = timed_import(generated, args.batch_size, profiler)
    peak_rss_mib = ru_maxrss_mb()

    per_plan = [o.clause_count for o in plans_run.outcomes if o.outcome == "imported"]
    plans_in_db = Plan.objects.count()
    clauses_in_db = Clause.objects.count()
    regions = Plan.objects.values("region").distinct().count()
    plans_target = PLANS_TARGET_SECONDS_PER_1000 * args.plans / 1000
    batches = "one plans_import call" if not args.batch_size else f"batches of {args.batch_size}"

    checks = [
        (
            seeds_run.seconds < SEEDS_TARGET_SECONDS,
            f"{len(seed_files)} seeds imported in < {SEEDS_TARGET_SECONDS:g} s",
            f"{seeds_run.seconds:.3f} s",
        ),
        (
            plans_run.seconds < plans_target,
            f"{args.plans:,} plans imported in < {plans_target:g} s",
            f"{plans_run.seconds:.2f} s",
        ),
    ]
    seed_problems = outcome_problems(seeds_run)
    plan_problems = outcome_problems(plans_run)
    expected_plans = seeds_run.files + plans_run.files
    expected_clauses = seeds_run.clauses + plans_run.clauses
    checks += [
        (not seed_problems, "every seed imported, with clauses", (seed_problems or ["ok"])[0]),
        (
            not plan_problems,
            "every generated plan imported, with clauses",
            (plan_problems or [f"{len(per_plan):,}/{plans_run.files:,}"])[0],
        ),
        (
            plans_in_db == expected_plans and clauses_in_db == expected_clauses,
            "rows in the database match the outcomes",
            f"{plans_in_db:,} plans, {clauses_in_db:,} clauses",
        ),
    ]

    width = 74
    print("=" * width)
    print("Import benchmark: reviewapp.services.plan_import.plans_import")
    print("=" * width)
    print(f"  database             {database}")
    print(f"  parser processes     {workers} (IMPORT_PARSE_PROCESSES); CPU cores: {os.cpu_count()}")
    print(f"  DEBUG                {'on: every query is logged' if settings.DEBUG else 'off'}")
    print(f"  parser pool start-up {pool_seconds:.3f} s (warm-up before timing, not counted)")
    print()
    print(f"Seeds (fresh database, {seeds_run.files} files, one plans_import call)")
    print(f"  files                {seeds_run.files}")
    print(f"  clauses              {seeds_run.clauses:,}")
    print(f"  wall                 {seeds_run.seconds:.3f} s")
    print(f"  clauses/s            {rate(seeds_run.clauses, seeds_run.seconds)}")
    print()
    print(f"Generated plans ({batches}; random seed {RANDOM_SEED})")
    print(f"  generated in         {generation_seconds:.2f} s (not counted), {megabytes:.1f} MB")
    print(f"  encodings            {', '.join(f'{k} {v}' for k, v in encodings.most_common())}")
    print(f"  files                {plans_run.files:,}")
    print(f"  clauses              {plans_run.clauses:,}")
    if per_plan:
        print(
            f"  clauses per plan     min {min(per_plan)}, median {statistics.median(per_plan):g}, "
            f"max {max(per_plan)}; {regions} distinct regions in the database"
        )
    print(f"  wall                 {plans_run.seconds:.2f} s")
    print(
        f"    waiting on parsers {plans_run.parse_wait:.2f} s; "
        f"parent (checks, DB writes) {plans_run.seconds - plans_run.parse_wait:.2f} s"
    )
    print(f"  clauses/s            {rate(plans_run.clauses, plans_run.seconds)}")
    print(f"  files/s              {rate(plans_run.files, plans_run.seconds)}")
    print()
    print(f"Peak RSS (this process, getrusage)  {peak_rss_mib:.1f} MiB")
    print()
    print("Targets and checks")
    for ok, label, value in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label:<46} {value}")
    for problem in seed_problems[1:] + plan_problems[1:]:
        print(f"        {problem}")
    failed = [label for ok, label, _ in checks if not ok]
    print("=" * width)
    print(f"RESULT: {'FAIL (' + '; '.join(failed) + ')' if failed else 'PASS'}")

    if profiler is not None:
        import pstats

        print()
        print("cProfile of the parent during the generated import (top 25 by cumulative time)")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
