"""Rule files: the shipped rules, one fixture per validation error, versions, schema, headlines."""

from __future__ import annotations

import json
import logging
import re
import shutil
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.alerts.assess import assess
from service.baselines.model import load_baselines
from service.errors import ConfigError
from service.matching.rules import RuleSet, load_rules, load_rules_strict
from service.matching.ruleset import ParseContext, Rule, render_rules_schema
from service.rulebook import RuleBook, check_rules_dir, load_rulebook, read_checked_rules
from service.sources.declared import load_feeds

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_RULES = ROOT / "rules"
FIXTURES = ROOT / "tests" / "fixtures" / "rules"
SEED_BASELINE = "nissan-china-ev-2023-12-19"
SHIPPED_FILES = ["aliases.yaml", "byd.yaml", "china-export.yaml", "nev.yaml", "nissan.yaml", "tesla.yaml"]
SCHEMA_LINE = "# yaml-language-server: $schema=rules.schema.json"

_FEEDS = load_feeds(SHIPPED_RULES).feeds
KNOWN: dict[str, Any] = {
    "known_feeds": {feed.name for feed in _FEEDS},
    "known_tags": {tag for feed in _FEEDS for tag in feed.tags},
    "known_baselines": {SEED_BASELINE},
}

# fixture (file or folder under FIXTURES) -> every problem it must produce, as `file:line: message`
# with the file relative to the folder that is loaded.
CASES: dict[str, list[str]] = {
    "unknown_key.yaml": ["unknown_key.yaml:6: rules[0]: unknown key 'severty'"],
    "bad_id.yaml": [
        "bad_id.yaml:2: rules[0].id: must be lower-case letters, digits and '-', starting with a letter "
        "or digit, at most 64 characters (got 'BYD_Sales')"
    ],
    "duplicate_id": [
        "duplicate_id/a.yaml:2: duplicate rule id 'byd-news' (also declared at duplicate_id/b.yaml:6)",
        "duplicate_id/b.yaml:6: duplicate rule id 'byd-news' (also declared at duplicate_id/a.yaml:2)",
    ],
    "bad_expression.yaml": ["bad_expression.yaml:5: rules[0].match: column 9: unclosed parenthesis"],
    "unknown_baseline.yaml": [
        "unknown_baseline.yaml:7: rules[0].baselines[1]: unknown baseline 'nissan-china-ev-2019' "
        "(did you mean 'nissan-china-ev-2023-12-19'?)"
    ],
    "unknown_feed.yaml": [
        "unknown_feed.yaml:5: rules[0].feeds[1]: unknown feed 'Electrik' (did you mean 'Electrek'?)"
    ],
    "bad_severity.yaml": [
        "bad_severity.yaml:5: rules[0].severity: input should be 'info', 'notice', 'high' or 'critical'"
    ],
    "bad_duration.yaml": [
        "bad_duration.yaml:5: rules[0].cooldown: 'half an hour' is not a duration; "
        "write e.g. '30m', '1h', '1d', '14d'"
    ],
    "volume_without_block.yaml": [
        "volume_without_block.yaml:2: rules[0].volume: required for kind: volume "
        "(window, reference, factor, min_count)"
    ],
    "threshold_out_of_range.yaml": [
        "threshold_out_of_range.yaml:5: rules[0].novelty_threshold: input should be less than or equal to 1"
    ],
    "duplicate_alias": [
        "duplicate_alias/b.yaml:3: duplicate alias 'leapmotor' (also defined at duplicate_alias/a.yaml:2)"
    ],
}


def relative_problems(rules_dir: Path, **known: Any) -> list[str]:
    return [str(p).replace(f"{rules_dir}/", "") for p in load_rules(rules_dir, **known).problems]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_shipped_rules_load_without_problems_against_real_feeds_and_baselines() -> None:
    baselines = load_baselines(SHIPPED_RULES / "baselines")
    assert SEED_BASELINE in {b.id for b in baselines.baselines}
    known = {**KNOWN, "known_baselines": {b.id for b in baselines.baselines}}
    ruleset = load_rules_strict(SHIPPED_RULES, **known)
    assert [rule.id for rule in ruleset.rules] == ["byd", "china-export", "nev", "nissan", "tesla"]
    assert all(rule.baselines == (SEED_BASELINE,) and rule.enabled for rule in ruleset.rules)
    assert {"NEV", "BYD", "Nissan", "Tesla", "China-made", "EV", "PHEV", "tariffs"} <= set(ruleset.aliases)
    assert str(ruleset.origin("nissan")) == f"{SHIPPED_RULES}/nissan.yaml:9"


def test_shipped_rule_files_point_editors_at_the_schema() -> None:
    for name in [*SHIPPED_FILES, "examples.yaml.example"]:
        first = (SHIPPED_RULES / name).read_text(encoding="utf-8").splitlines()[0]
        assert first == SCHEMA_LINE, name


@pytest.mark.parametrize(("fixture", "expected"), CASES.items(), ids=list(CASES))
def test_each_fixture_reports_exactly_its_problems(tmp_path: Path, fixture: str, expected: list[str]) -> None:
    source = FIXTURES / fixture
    if source.is_dir():
        shutil.copytree(source, tmp_path / fixture)
    else:
        shutil.copy(source, tmp_path / fixture)
    assert relative_problems(tmp_path, **KNOWN) == expected


def test_all_bad_files_at_once_report_every_problem_together() -> None:
    reported = relative_problems(FIXTURES, **KNOWN)
    expected = sorted(p for problems in CASES.values() for p in problems)
    assert sorted(reported) == expected
    ruleset = load_rules(FIXTURES, **KNOWN)
    assert [rule.id for rule in ruleset.rules] == [
        "byd-news",
        "other-rule",
        "unknown-baseline",
        "unknown-feed",
    ]
    assert str(ruleset.origin("byd-news")) == f"{FIXTURES}/duplicate_id/a.yaml:2"
    assert ruleset.aliases == {"Leapmotor": ("零跑",)}


def test_strict_loader_raises_every_problem(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "rules:\n  - {id: a, name: A, match: 'byd AND'}\n")
    write(tmp_path, "b.yaml", "rules: [\n")
    with pytest.raises(ConfigError) as caught:
        load_rules_strict(tmp_path)
    assert [str(p).replace(f"{tmp_path}/", "") for p in caught.value.problems] == [
        "a.yaml:2: rules[0].match: column 5: 'AND' needs a term after it",
        "b.yaml:2: invalid YAML: while parsing a flow node, "
        "expected the node content, but found '<stream end>'",
    ]


def test_unknown_references_are_checked_only_when_known_names_are_given(tmp_path: Path) -> None:
    write(
        tmp_path,
        "r.yaml",
        "rules:\n  - {id: r, name: R, match: byd, feeds: [Nope], tags: [x], baselines: [y]}\n",
    )
    assert relative_problems(tmp_path) == []
    assert relative_problems(tmp_path, **KNOWN) == [
        "r.yaml:2: rules[0].feeds[0]: unknown feed 'Nope'",
        "r.yaml:2: rules[0].tags[0]: no feed has tag 'x'",
        "r.yaml:2: rules[0].baselines[0]: unknown baseline 'y'",
    ]


def test_which_files_are_rule_files(tmp_path: Path) -> None:
    bad_rule = "rules:\n  - id: NOT VALID\n"
    for ignored in ["baselines/seed.yaml", ".hidden/r.yaml", "notes.txt", "examples.yaml.example"]:
        write(tmp_path, ignored, bad_rule)
    write(tmp_path, "feeds.yaml", "feeds:\n  - {name: A, url: 'https://example.com/a'}\nother: 1\n")
    write(tmp_path, "list.yaml", "- not a mapping\n")
    write(tmp_path, "empty.yaml", "")
    write(tmp_path, "team/nested.yml", "rules:\n  - {id: nested, name: N, match: nio}\nfeeds: []\n")
    write(tmp_path, "aliases.yaml", "aliases:\n  Nio: [蔚来]\nrulez: []\n")
    assert relative_problems(tmp_path) == [
        "aliases.yaml:3: unknown top-level key 'rulez' (a rule file holds aliases, rules, feeds)"
    ]
    ruleset = load_rules(tmp_path)
    assert [rule.id for rule in ruleset.rules] == ["nested"]
    assert ruleset.aliases == {"Nio": ("蔚来",)}


def test_missing_rules_directory_is_a_problem(tmp_path: Path) -> None:
    assert [p.message for p in load_rules(tmp_path / "absent").problems] == ["rules directory does not exist"]


def test_aliases_are_shared_across_files_and_checked_at_their_own_line(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "rules:\n  - {id: a, name: A, match: '\"China-made\" EV'}\n")
    write(tmp_path, "z.yaml", "aliases:\n  china made: [made in China]\n  EV: [electric car, '', 'e*']\n")
    assert relative_problems(tmp_path) == [
        "z.yaml:3: aliases.EV[1]: must have something to match once dashes and spaces are ignored",
        "z.yaml:3: aliases.EV[2]: 'e*' must be plain text (no '*' or '\"')",
    ]
    write(tmp_path, "z.yaml", "aliases:\n  china made: [made in China, Made in china]\n  AND: [x]\n")
    ruleset = load_rules(tmp_path)
    assert relative_problems(tmp_path) == [
        "z.yaml:3: aliases.AND: alias name 'AND' must be 1-100 characters, no operator, without \" ( ) : *"
    ]
    assert ruleset.aliases == {"china made": ("made in China",)}
    assert "made in China" in str(ruleset.rules[0].expression)


def test_expression_errors_count_columns_within_a_folded_expression(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", "rules:\n  - id: r\n    name: R\n    match: >-\n      byd\n      OR NOT\n")
    assert relative_problems(tmp_path) == ["r.yaml:4: rules[0].match: column 8: 'NOT' needs a term after it"]


def test_version_follows_what_the_rules_say(tmp_path: Path) -> None:
    def version() -> str:
        return load_rules(tmp_path).version

    write(tmp_path, "r.yaml", "aliases:\n  EV: [electric car]\nrules:\n  - {id: r, name: R, match: byd}\n")
    first = version()
    assert first == version() and len(first) == 16
    write(
        tmp_path,
        "r.yaml",
        "# a comment\naliases:\n  EV: [electric car]\nrules:\n  - {id: r, name: R, match: byd}\n",
    )
    write(tmp_path, "feeds.yaml", "feeds:\n  - {name: A, url: 'https://example.com/a'}\n")
    write(tmp_path, "baselines/b.yaml", "rules: []\n")
    assert version() == first
    write(tmp_path, "r.yaml", "aliases:\n  EV: [electric car]\nrules:\n  - {id: r, name: R, match: nio}\n")
    changed = version()
    write(tmp_path, "r.yaml", "aliases:\n  EV: [electric SUV]\nrules:\n  - {id: r, name: R, match: nio}\n")
    assert len({first, changed, version()}) == 3
    moved = tmp_path.parent / f"{tmp_path.name}-copy"
    shutil.copytree(tmp_path, moved)
    assert load_rules(moved).version == version()


def test_committed_schema_is_in_sync() -> None:
    committed = (SHIPPED_RULES / "rules.schema.json").read_text(encoding="utf-8")
    assert committed == render_rules_schema(), (
        "rules/rules.schema.json is out of date: run `rivalwatch rules schema > rules/rules.schema.json`"
    )
    schema = json.loads(committed)
    assert set(schema["properties"]) == {"aliases", "rules", "feeds"}
    assert "cooldown" in schema["$defs"]["Rule"]["properties"]
    assert all("description" in field for field in schema["$defs"]["Rule"]["properties"].values())


def test_examples_file_is_valid_and_shows_every_feature(tmp_path: Path) -> None:
    example = (SHIPPED_RULES / "examples.yaml.example").read_text(encoding="utf-8")
    assert "NOT loaded" in example
    for name in SHIPPED_FILES:
        shutil.copy(SHIPPED_RULES / name, tmp_path / name)
    (tmp_path / "examples.yaml").write_text(example, encoding="utf-8")
    ruleset = load_rules_strict(tmp_path, **KNOWN)
    matches = " ".join(rule.match for rule in ruleset.rules if rule.id.startswith("example-"))
    for feature in [" OR ", " AND ", " NOT ", "NEAR/", "title:", "text:", "*", '"', "(", "NEV", "宁德时代"]:
        assert feature in matches, feature
    for key in [
        "kind: volume",
        "enabled: false",
        "notify:",
        "cooldown:",
        "feeds:",
        "tags:",
        "novelty_threshold:",
    ]:
        assert key in example, key


def rule(**fields: Any) -> Rule:
    return Rule.model_validate({"id": "r", "name": "R", "match": "byd", **fields}, context=ParseContext({}))


def test_rule_defaults() -> None:
    plain = rule()
    assert (plain.kind, plain.severity, plain.novelty_threshold, plain.enabled) == (
        "keyword",
        "notice",
        0.35,
        True,
    )
    assert plain.notify is None and plain.cooldown_s is None and plain.feeds is None and plain.volume is None


@pytest.mark.parametrize(("written", "seconds"), [("30m", 1800), ("1h", 3600), ("1d12h", 129600), (900, 900)])
def test_cooldown_durations(written: object, seconds: int) -> None:
    assert rule(cooldown=written).cooldown_s == seconds


def test_volume_block() -> None:
    volume = rule(kind="volume", volume={"window": "1d", "reference": "14d"}).volume
    assert volume is not None
    assert (volume.window_s, volume.reference_s, volume.factor, volume.min_count) == (
        86400,
        14 * 86400,
        3.0,
        5,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "volume", "volume": {"window": "1d", "reference": "1d"}}, "at least twice the window"),
        ({"kind": "volume", "volume": {"window": "1d", "reference": "14d", "factor": 1}}, "greater than 1"),
        (
            {"kind": "volume", "volume": {"window": "1d", "reference": "14d", "min_count": 0}},
            "greater than or",
        ),
        ({"volume": {"window": "1d", "reference": "14d"}}, "only allowed with kind: volume"),
        ({"feeds": []}, "must name at least one"),
        ({"notify": ["slak"]}, "unknown channel 'slak'"),
        ({"cooldown": "10d"}, "must be between 1m and 7d (got 10d)"),
        ({"match": "NOT tesla"}, "column 1: a rule needs at least one term that must be present"),
        ({"enabled": "yes"}, "valid boolean"),
    ],
)
def test_rule_field_rules(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        rule(**fields)


def test_a_lower_case_operator_is_a_warning_not_an_error() -> None:
    written = rule(match='Xpeng or "He Xiaopeng"', subject="not recall Xpeng")
    assert written.warnings == (
        'match: column 7: "or" between terms is the word or; did you mean OR?',
        'subject: column 1: "not" before a term is the word not; did you mean NOT?',
    )
    assert rule(match='Xpeng OR "He Xiaopeng or Xpeng"', subject=True).warnings == ()


def test_validate_collects_warnings_apart_from_problems_at_the_line_of_the_rule(tmp_path: Path) -> None:
    write(
        tmp_path,
        "x.yaml",
        """\
        rules:
          - id: xpeng
            name: Xpeng
            match: Xpeng or "He Xiaopeng"
          - {id: broken, name: Broken, match: 'byd AND'}
        """,
    )
    report = check_rules_dir(tmp_path)
    assert [str(p).replace(f"{tmp_path}/", "") for p in report.problems] == [
        "x.yaml:5: rules[1].match: column 5: 'AND' needs a term after it"
    ]
    assert [str(w).replace(f"{tmp_path}/", "") for w in report.warnings] == [
        'x.yaml:2: match: column 7: "or" between terms is the word or; did you mean OR?'
    ]


def test_loading_rules_logs_each_warning_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path, "x.yaml", "rules:\n  - {id: xpeng, name: Xpeng, match: 'Xpeng or BYD'}\n")
    caplog.set_level(logging.WARNING, logger="service.rulebook")
    checked = read_checked_rules(tmp_path, feeds=[])
    assert [r.id for r in checked.enabled] == ["xpeng"]  # a warning never stops a rule
    logged = [dict(getattr(r, "rw_fields", {})) for r in caplog.records if r.getMessage() == "rule_warning"]
    assert logged == [
        {
            "file": f"{tmp_path}/x.yaml",
            "line": 2,
            "detail": 'match: column 7: "or" between terms is the word or; did you mean OR?',
        }
    ]


def test_shipped_rules_have_no_warnings() -> None:
    assert check_rules_dir(SHIPPED_RULES).warnings == []


# Headline -> the shipped rules it must fire (empty: none). Exclusions are the point of half of them.
HEADLINES: list[tuple[str, set[str]]] = [
    (
        "Nissan to export China-developed EVs as it seeks to revive sales",
        {"nissan", "china-export", "nev"},
    ),
    ("Nissan weighs exporting China-developed EVs to overseas markets", {"nissan", "china-export", "nev"}),
    ("Dongfeng Nissan N7 sedan tops 10,000 orders in 40 days", {"nissan"}),
    ("Dongfeng's N7 electric sedan gets over-the-air update", {"nissan", "nev"}),
    ("Nissan Ariya gets cheaper in Europe after price cut", {"nissan", "nev"}),
    ("Ivan Espinosa outlines Re:Nissan turnaround plan", {"nissan"}),
    ("Nissan's e-Power hybrid Qashqai gets a facelift", {"nissan"}),
    ("Taylor Swift returns to Nissan Stadium for three nights", set()),
    ("Short Interest in Nissan Motor Co., Ltd. (OTCMKTS:NSANY) Declines By 12%", set()),
    ("Denza N7 launches with 630 km range", {"byd", "nev"}),
    ("BYD opens first dealerships in Canada", {"byd", "china-export", "nev"}),
    ("BYD Seal U DM-i arrives at UK showrooms", {"byd", "china-export", "nev"}),
    ("BYD Han EV refresh brings 5-minute charging", {"byd", "nev"}),
    ("Yangwang U9 sets top-speed record at Nurburgring", {"byd"}),
    ("Song Plus DM-i remains China's best-selling SUV", {"byd"}),
    ("BYD sales in China slip in May as price war bites", {"byd", "nev"}),
    ("Scientists film dolphin pods off the coast of Florida", set()),
    ("Tang dynasty tomb discovered in Xi'an", set()),
    ("BYD Co Ltd (OTCMKTS:BYDDY) Short Interest Update", set()),
    ("Tesla Model Y refresh starts deliveries in China", {"tesla", "nev"}),
    ("Cybertruck recall covers 46,000 vehicles", {"tesla", "nev"}),
    ("Musk says robotaxi service will expand to Austin next month", {"tesla"}),
    ("Musk's SpaceX launches 24 Starlink satellites", set()),
    ("Tesla's China unit exports 20,000 Shanghai-made cars", {"tesla", "china-export", "nev"}),
    ("Nikola Tesla's lost notes on wireless power found in Belgrade archive", set()),
    ("Hospital installs 3 tesla MRI scanner for brain imaging", set()),
    ("Lab reaches 45.5 tesla with compact superconducting magnet", set()),
    ("Rock band Tesla announces new album and autumn tour", set()),
    ("China-made EVs arrive in Europe as price gap narrows", {"china-export", "nev"}),
    ("EU tariffs on Chinese EVs take effect", {"china-export", "nev"}),
    ("Chery starts sales in the UK with Omoda and Jaecoo", {"china-export"}),
    ("CATL breaks ground on second plant in Hungary", {"china-export", "nev"}),
    ("Car carrier loaded with 5,000 Chinese cars docks in Bremerhaven", {"china-export"}),
    ("MG4 is Britain's best-selling electric car in March", {"china-export", "nev"}),
    ("Mexico raises import duty on cars from China to 50%", {"china-export"}),
    ("比亚迪海外销量翻倍 出口", {"byd", "china-export"}),
    ("Geely unveils new sedan at Shanghai auto show", set()),
    ("Great Wall of China draws record visitors", set()),
    ("Take 500 mg of vitamin C daily, study says", set()),
    ("China NEV penetration tops 50% for the first time, CPCA says", {"nev"}),
    ("China extends NEV purchase tax exemption to 2027", {"nev"}),
    ("Plug-in hybrid sales overtake battery-electric in Germany", {"nev"}),
    ("Hyundai fuel-cell vehicle sales slump as hydrogen stations close", {"nev"}),
    ("Range-extended EREV sales surge in China as buyers worry about charging", {"nev"}),
    ("新能源汽车渗透率首次超过50% 乘联会", {"nev"}),
    ("Toyota's self-charging hybrid electric vehicle sales hit record in Europe", set()),
    ("Mild hybrid versions lift Suzuki sales in India", set()),
    ("Self-charging hybrid sales overtake EVs in the UK", {"nev"}),
    ("EV stocks rally after Fed decision", set()),
    # The themes as the team defines them (docs: themes.md): implicit exports, NEVs as a whole,
    # and names that only serve as a yardstick.
    ("China's carmakers rush to Canada as a 'practice run' for US sales", {"china-export"}),
    ("US Senate panel approves bill to crack down on Chinese vehicles", {"china-export"}),
    ("Rivian R2 production starts with 20,000 deliveries planned", {"nev"}),
    ("Xiaomi upgrades its best-selling SU7 electric sedan", {"nev"}),
    ("New EV charger network opens along the motorway", {"nev"}),
    ("China's super-smart Tesla-killers", set()),
    ("Micron overtakes Meta, Tesla in market value amid AI demand", set()),
    ("Electric car sales: Tata, MG, Mahindra, Hyundai, BYD and Kia lead", {"nev"}),
    ("Tesla ships Shanghai-built Model Y to Canada", {"tesla", "china-export", "nev"}),
    ("Buick Envision built in China faces US tariffs", {"china-export"}),
    ("More than 500 BYD buses delivered to Chile", {"byd", "china-export", "nev"}),
    # Words that look like the themes' and are not.
    ("Leapmotor launches 70,000-yuan hatchback in Shenzhen", {"nev"}),  # not BYD's Yuan
    ("Geely posts record quarterly profit, an important milestone", set()),
    ("Chinese carmakers face ban on misleading ads at home", set()),
    ("Chinese fashion brand Shein opens stores in Europe", set()),
    ("Chery's robot unit eyes IPO, targets overseas market", set()),
    ("Musk's Boring Company tunnel to carry cars under Las Vegas", set()),
    ("Xiaomi smartphone sales rise 10% in the quarter", set()),
    ("Ford Mustang supercharger kit boosts V8 to 800 hp", set()),
    ("EU picks sites for AI gigafactories", set()),
    ("MRI maker unveils 7 tesla scanner", set()),
    ("Magnet maker unveils a 28 tesla research magnet with a record field strength", set()),
    ("石油日产量达到1000万桶", set()),
    ("Tech firm head detained over China-made drone parts", set()),
    ("All electric and magnetic devices could improve, physicists say", set()),
]


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_rules_strict(SHIPPED_RULES, **KNOWN)


@pytest.fixture(scope="module")
def shipped_book() -> RuleBook:
    return load_rulebook(SHIPPED_RULES, now=datetime.now(UTC))


def raised_by(book: RuleBook, *, title: str, text: str = "") -> set[str]:
    """The shipped rules that would raise an alert: matched, and about their subject."""
    return {a.rule.id for a in assess(book, title=title, text=text) if a.about_subject}


@pytest.mark.parametrize(("headline", "expected"), HEADLINES, ids=[h for h, _ in HEADLINES])
def test_shipped_rules_on_headlines(shipped_book: RuleBook, headline: str, expected: set[str]) -> None:
    assert raised_by(shipped_book, title=headline) == expected


def test_title_scope_keeps_share_price_words_in_the_body_harmless(shipped_book: RuleBook) -> None:
    body = "Shares of Nissan Motor (OTCMKTS:NSANY) fell 2% after the announcement."
    assert raised_by(shipped_book, title="Nissan to build a car plant in Kyushu", text=body) == {"nissan"}


def test_expressions_are_the_enabled_rules_in_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        "r.yaml",
        "rules:\n  - {id: b, name: B, match: byd}\n  - {id: a, name: A, match: nio, enabled: false}\n",
    )
    ruleset = load_rules(tmp_path)
    assert [rule_id for rule_id, _ in ruleset.expressions()] == ["b"]
    assert [rule.id for rule in ruleset.rules] == ["b", "a"]
