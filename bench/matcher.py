"""Suite ``matcher``: items/s of the compiled keyword matcher at 100, 1 000 and 5 000 terms.

Items are the titles and plain texts of the real corpus (``pipeline.parse_document`` →
``pipeline.normalise_entries`` with default settings; documents that do not parse are skipped).
Rules are generated with a fixed seed, the way a large rule set looks: every rule ORs 2-5 terms;
every 4th also requires another term, every 6th excludes one, every 8th is ``a NEAR/5 b``. The
terms are, in this order until the size is reached: ~90 real company, product and topic names
and phrases; then, for a quarter of the size, capitalised words of the corpus itself (names that
do occur, taken from the middle of the frequency ranking); then invented brand and model names
(most never occur, like most of a real watch list). Every 10th term of 5+ letters is a wildcard.

Rows: ``compile ms`` = median time of ``compile_rules`` (parsing excluded); ``wall ms`` = median
time to match every item once; ``items/s`` = items / wall; ``matches/item`` = rule matches per
item. Target (PASS/MISS): the rate at 5 000 terms is at least half the rate at 100 terms.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from bench.common import Timing, measure, rate, table, verdict
from bench.corpus import PROJECT_ROOT, load_real_corpus
from service.config import load_settings
from service.errors import ParseError
from service.matching import Matcher, compile_rules, parse_expression
from service.matching.language import Expr
from service.pipeline import normalise_entries, parse_document

if TYPE_CHECKING:
    from service.rulebook import RuleBook

SIZES = (100, 1_000, 5_000)
SEED = 20240611
TARGET_RATIO = 0.5
"""items/s at 5 000 terms ÷ items/s at 100 terms should be at least this."""
REAL_TERMS = (
    "Tesla", "BYD", "NIO", "XPeng", "Li Auto", "Geely", "Volvo", "Polestar", "Volkswagen", "Audi",
    "e-tron", "Mercedes-Benz", "BMW", "Toyota", "Honda", "Nissan", "Hyundai", "Kia", "Ford", "GM",
    "General Motors", "Stellantis", "Renault", "Rivian", "Lucid", "CATL", "LG Energy Solution",
    "Panasonic", "Samsung SDI", "SK On", "Apple", "Google", "Microsoft", "Amazon", "Meta", "Nvidia",
    "Intel", "AMD", "Qualcomm", "TSMC", "Samsung", "Sony", "Huawei", "Xiaomi", "OpenAI", "Anthropic",
    "Model 3", "Model Y", "Cybertruck", "iPhone", "iPad", "MacBook", "Vision Pro", "Pixel", "Galaxy",
    "electric vehicle", "new-energy vehicle", "NEV", "battery", "solid-state battery",
    "charging network", "autonomous driving", "self-driving", "robotaxi", "semiconductor", "chip",
    "export controls", "tariff", "recall", "price cut", "layoffs", "acquisition", "merger",
    "antitrust", "lawsuit", "earnings", "guidance", "supply chain", "gigafactory", "lidar",
    "artificial intelligence", "AI", "machine learning", "data center", "cloud", "smartphone",
    "wearable", "subscription", "App Store", "新能源汽车", "比亚迪", "特斯拉",
)  # fmt: skip
_SYLLABLES = ("zor", "vex", "ka", "li", "tron", "mo", "ra", "quin", "dal", "ny", "sen", "vo", "tar", "ex")
_MODELS = ("Motors", "Auto", "Energy", "Systems", "X", "S", "GT", "Pro", "One", "EV")


def load_items() -> list[tuple[str, str]]:
    """(title, text) of every item of the real corpus."""
    settings = load_settings()
    items: list[tuple[str, str]] = []
    for doc in load_real_corpus():
        try:
            parsed = parse_document(doc.body, content_type=None, settings=settings)
        except ParseError:
            continue
        batch = normalise_entries(parsed, feed_url=f"https://bench.example/{doc.name}", settings=settings)
        items += [(item.title, item.text) for item in batch]
    return items


def corpus_names(items: Sequence[tuple[str, str]]) -> list[str]:
    """Capitalised words of the corpus, most frequent first, without the 100 most frequent."""
    counts = Counter(w for title, text in items for w in re.findall(r"\b[A-Z][a-z]{3,}\b", f"{title} {text}"))
    return [word for word, _ in counts.most_common()][100:]


def generate_terms(size: int, names: Sequence[str], rng: random.Random) -> list[str]:
    terms = list(dict.fromkeys(REAL_TERMS))[:size]
    pool = names[: max(size // 2, 1)]
    terms += rng.sample(pool, min(len(pool), size // 4, size - len(terms)))
    seen = set(terms)
    while len(terms) < size:
        name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        term = f"{name} {rng.choice(_MODELS)}" if rng.random() < 0.4 else name
        if term not in seen:
            seen.add(term)
            terms.append(term)
    return [f"{t[:-1]}*" if i % 10 == 9 and t.isalpha() and len(t) >= 5 else t for i, t in enumerate(terms)]


def generate_rules(terms: Sequence[str], rng: random.Random) -> list[tuple[str, Expr]]:
    """Rules over ``terms``, every term used at least once."""
    quoted = [t if t.endswith("*") else f'"{t}"' for t in terms]
    rules: list[tuple[str, Expr]] = []
    position = 0
    while position < len(quoted):
        index = len(rules)
        width = rng.randint(2, 5)
        group, position = quoted[position : position + width], position + width
        if index % 8 == 7 and len(group) >= 2:
            expression = f"{group[0]} NEAR/5 {group[1]}"
        else:
            expression = "(" + " OR ".join(group) + ")"
            if index % 4 == 3:
                expression += f" AND {rng.choice(quoted)}"
            if index % 6 == 5:
                expression += f" NOT {rng.choice(quoted)}"
        rules.append((f"rule-{index}", parse_expression(expression)))
    return rules


def match_all(matcher: Matcher, items: Sequence[tuple[str, str]]) -> int:
    """Match every item once; the number of rule matches."""
    return sum(len(matcher.match(title=title, text=text)) for title, text in items)


def run_suite(*, quick: bool) -> dict[str, Any]:
    items = load_items()
    names = corpus_names(items)
    repetitions = 1 if quick else 7
    built: list[tuple[int, int, Timing, Matcher]] = []
    for size in SIZES:
        rules = generate_rules(generate_terms(size, names, random.Random(SEED + size)), random.Random(SEED))
        compile_timing, matcher = measure(partial(compile_rules, rules), repetitions=repetitions)
        built.append((size, len(rules), compile_timing, matcher))
    # The sizes take turns, one pass each per round: a machine that speeds up or slows down over
    # the run (other tenants, frequency) then weighs on every size alike, not on the last one.
    samples: dict[int, list[Timing]] = {size: [] for size in SIZES}
    matched: dict[int, int] = {}
    for _ in range(repetitions):
        for size, _rules, _compile, matcher in built:
            timing, matched[size] = measure(partial(match_all, matcher, items), repetitions=1)
            samples[size].append(timing)
    rows: list[dict[str, Any]] = []
    for size, rule_count, compile_timing, _matcher in built:
        timing = Timing.joined(samples[size])
        rows.append(
            {
                "terms": size,
                "rules": rule_count,
                "compile": compile_timing.as_json(),
                "match": timing.as_json(),
                "items_per_s": rate(len(items), timing.wall_median_s),
                "matches": matched[size],
            }
        )
    ratio = rows[-1]["items_per_s"] / rows[0]["items_per_s"]
    judging = measure_judging(items, repetitions=repetitions)
    return {
        "items": len(items),
        "repetitions": repetitions,
        "rows": rows,
        "ratio_5000_vs_100": ratio,
        "judging": judging,
    }


JUDGE_TARGET_US = 200.0
"""Median judging cost of a matched item (issue target: 0.2 ms)."""
BASELINE_COUNTS = (1, 2, 4)
"""Rows of the scaling check: every keyword rule names this many baselines (copies of the seed)."""


def measure_judging(items: Sequence[tuple[str, str]], *, repetitions: int) -> dict[str, Any]:
    """The shipped rules and baseline over the corpus: matching alone, then matching + judging.

    Judging = novelty, changed figures, new terms and the snippet of every (rule, item) match,
    i.e. ``service.alerts.assess.assess`` minus the matcher. Reported three ways: over the whole
    corpus (the difference per match), per matched item (its median, the target), and per
    matched item again with every keyword rule naming 1, 2 and 4 baselines (the growth check).
    """
    from datetime import UTC, datetime

    from service.alerts.assess import assess
    from service.baselines.text import forget_tokens
    from service.rulebook import load_rulebook

    book = load_rulebook(PROJECT_ROOT / "rules", now=datetime.now(UTC))

    def only_match() -> int:
        return sum(len(book.matcher.match(title=t, text=x)) for t, x in items)

    def match_and_judge() -> int:
        forget_tokens()  # every pass reads the items anew (see median_item_judging_us); microseconds
        return sum(len(assess(book, title=t, text=x)) for t, x in items)

    match_timing, _matches = measure(only_match, repetitions=repetitions)
    judge_timing, judged = measure(match_and_judge, repetitions=repetitions)
    extra_s = max(0.0, judge_timing.wall_median_s - match_timing.wall_median_s)
    matched = [(t, x) for t, x in items if book.matcher.match(title=t, text=x)]
    scaling = [
        {"baselines": count, "median_item_us": median_item_judging_us(_naming(book, count), matched)}
        for count in BASELINE_COUNTS
    ]
    one = scaling[0]["median_item_us"]
    for row in scaling:
        row["ok"] = row["median_item_us"] <= one * row["baselines"]

    def match_and_judge_one(title: str, text: str) -> int:
        forget_tokens()
        return len(assess(book, title=title, text=text))

    hostile = []
    for name, title, text in hostile_items():
        timing, matches = measure(partial(match_and_judge_one, title, text), repetitions=repetitions)
        hostile.append({"item": name, "chars": len(text), "matches": matches, "assess": timing.as_json()})
    return {
        "rules": len(book.rules),
        "matches": judged,
        "matched_items": len(matched),
        "match_wall_s": match_timing.wall_median_s,
        "assess_wall_s": judge_timing.wall_median_s,
        "judge_us_per_match": extra_s / judged * 1e6 if judged else None,
        "median_item_us": one,
        "target_us": JUDGE_TARGET_US,
        "ok": one <= JUDGE_TARGET_US,
        "scaling": scaling,
        "hostile": hostile,
    }


def median_item_judging_us(book: RuleBook, matched: Sequence[tuple[str, str]], *, rounds: int = 9) -> float:
    """The median over ``matched`` items of what judging one costs: the fastest of ``rounds``
    timings of ``assess`` minus the fastest of as many of matching alone (fastest, as a single
    item takes microseconds and any pause of the machine would otherwise count)."""
    from service.alerts.assess import assess
    from service.baselines.text import forget_tokens

    costs = []
    for title, text in matched:
        match = partial(book.matcher.match, title=title, text=text)
        judge = partial(assess, book, title=title, text=text)
        match_s = min(_timed(match) for _ in range(rounds))
        # Each timing starts with the item's sentences unread, as when a poll judges a new item:
        # the tokens ``tokenize`` remembers would otherwise make every round after the first a
        # look-up.
        assess_s = min(_timed(judge, before=forget_tokens) for _ in range(rounds))
        costs.append(max(0.0, assess_s - match_s) * 1e6)
    return statistics.median(costs) if costs else 0.0


def _timed(run: Callable[[], object], *, before: Callable[[], object] | None = None) -> float:
    if before is not None:
        before()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _naming(book: RuleBook, count: int) -> RuleBook:
    """``book`` with every keyword rule that names a baseline naming ``count``: its first and
    copies of it under other ids (the same facts and terms: the same work per baseline)."""
    from dataclasses import replace

    from service.baselines.model import StoredBaseline
    from service.rulebook import KnownBaseline

    known = dict(book.baselines)
    rules = {}
    for rule_id, rule in book.rules.items():
        if not rule.baselines or rule.baselines[0] not in known:
            rules[rule_id] = rule
            continue
        first = known[rule.baselines[0]].stored
        ids = [first.baseline.id] + [f"{first.baseline.id}-copy-{n}" for n in range(1, count)]
        for copy_id in ids[1:]:
            copy = first.baseline.model_copy(update={"id": copy_id})
            known[copy_id] = KnownBaseline.of(StoredBaseline(copy, first.version, first.created_at))
        rules[rule_id] = rule.model_copy(update={"baselines": tuple(ids)})
    return replace(book, rules=rules, baselines=known)


def hostile_items() -> list[tuple[str, str, str]]:
    """(row, title, text): one sentence as long as the pipeline keeps (``max_text_chars``), dense
    with numbers, in the shapes that once made reading figures quadratic in the numbers."""
    cap = load_settings().max_text_chars
    opening = "Nissan plans new-energy vehicles for China "
    shapes = [
        ("labels (Abc 12)", "Abc 12 "),
        ("plain numbers", "abc 12 "),
        ("names between", "Nissan 12 Bolt "),
    ]
    return [(name, "Nissan plans", (opening + repeated * cap)[:cap]) for name, repeated in shapes]


def render(result: dict[str, Any]) -> str:
    items = result["items"]
    headers = ["terms", "rules", "compile ms", "reps", "wall ms", "spread %", "items/s", "matches/item"]
    rows = [
        [
            r["terms"],
            r["rules"],
            r["compile"]["wall_median_s"] * 1000,
            len(r["match"]["wall_s"]),
            r["match"]["wall_median_s"] * 1000,
            r["match"]["spread"] * 100,
            r["items_per_s"],
            r["matches"] / items,
        ]
        for r in result["rows"]
    ]
    title = f"MATCHER: {items} items (title + text) of the real corpus; wall = median of the repetitions"
    ratio = result["ratio_5000_vs_100"]
    target = table(
        ["target", "measured", "goal", "verdict"],
        [
            [
                "items/s at 5 000 terms / at 100 terms",
                ratio,
                f">= {TARGET_RATIO}",
                verdict(ratio >= TARGET_RATIO),
            ]
        ],
    )
    judging = result["judging"]
    per_match = judging["judge_us_per_match"]
    judge = table(
        ["shipped rules", "matches", "match ms", "match + judge ms", "judging µs per match"],
        [[
            judging["rules"], judging["matches"], judging["match_wall_s"] * 1000,
            judging["assess_wall_s"] * 1000, "-" if per_match is None else per_match,
        ]],
        title="JUDGING: every (rule, item) match of the shipped rules judged against the seed baseline",
    )  # fmt: skip
    per_item = table(
        ["baselines a rule names", "matched items", "median judging µs per item", "goal", "verdict"],
        [
            [
                row["baselines"],
                judging["matched_items"],
                row["median_item_us"],
                f"<= {judging['target_us']:.0f}"
                if row["baselines"] == 1
                else f"<= {row['baselines']}x the 1-row",
                verdict(judging["ok"] if row["baselines"] == 1 else row["ok"]),
            ]
            for row in judging["scaling"]
        ],
        title="JUDGING per matched item: median cost, and its growth with the baselines a rule names",
    )
    hostile = table(
        ["hostile item", "chars", "matches", "reps", "match + judge ms", "spread %"],
        [
            [
                h["item"], h["chars"], h["matches"], len(h["assess"]["wall_s"]),
                h["assess"]["wall_median_s"] * 1000, h["assess"]["spread"] * 100,
            ]
            for h in judging["hostile"]
        ],
        title="JUDGING hostile text: one number-dense sentence at the text cap, matched and judged",
    )  # fmt: skip
    return f"{table(headers, rows, title=title)}\n\n{target}\n\n{judge}\n\n{per_item}\n\n{hostile}"
