"""Labels files and scoring: the pure half of `rules eval`, table by table."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest

from service.evaluation.labels import Label, LabelsError, parse_labels
from service.evaluation.score import ItemResult, RuleOutcome, score, theme_rules_for

Themes = Iterable[str]


def entry(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "feed_file": "auto/feed.xml",
        "guid_or_link": "https://example.test/a",
        "title": "A title",
        "must": [],
        "never": ["tesla"],
        "unsure": [],
    }
    return base | fields


def label(
    title: str, *, must: Iterable[str] = (), never: Iterable[str] = (), unsure: Iterable[str] = ()
) -> Label:
    return Label("f.xml", title, None, title, frozenset(must), frozenset(never), frozenset(unsure))


def test_a_valid_entry_becomes_a_label() -> None:
    [parsed] = parse_labels([entry(must=["byd", "nev"], never=["tesla"], reason="why")], source="l.json")
    assert parsed.must == {"byd", "nev"} and parsed.judgement("tesla") == "never"
    assert parsed.judgement("nissan") is None and parsed.reason == "why"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"items": []}, "l.json: expected a JSON array"),
        (["x"], "l.json: entry 1: expected an object"),
        ([entry(feed_file="")], "entry 1: feed_file must be a non-empty string"),
        ([entry(feed_file="../secret.xml")], "entry 1: feed_file must be a path inside the feeds directory"),
        ([entry(feed_file="/etc/passwd")], "entry 1: feed_file must be a path inside the feeds directory"),
        ([entry(guid_or_link=None, title="")], "entry 1: needs guid_or_link or title"),
        ([entry(must="byd")], "entry 1: must must be a list of theme names"),
        ([entry(must=["tesla"])], "entry 1: tesla both in must and never"),
        ([entry(), entry(never=[1])], "entry 2: never must be a list of theme names"),
    ],
)
def test_a_broken_labels_file_is_refused_with_every_problem(document: Any, message: str) -> None:
    with pytest.raises(LabelsError, match=re.escape(message)):
        parse_labels(document, source="l.json")


def fired(rule: str) -> RuleOutcome:
    return RuleOutcome(rule, "pending", "new", 0.9)


def held(rule: str) -> RuleOutcome:
    return RuleOutcome(rule, "suppressed", "restates the baseline", 0.1)


RESULTS = [
    ItemResult(label("hit", must={"tesla"}), True, {"tesla": fired("tesla")}),
    ItemResult(label("suppressed must", must={"tesla"}), True, {"tesla": held("tesla")}),
    ItemResult(label("unmatched must", must={"tesla"}), True, {}),
    ItemResult(label("false alarm", never={"tesla"}), True, {"tesla": fired("tesla")}),
    ItemResult(label("quiet never", never={"tesla"}), True, {"tesla": held("tesla")}),
    ItemResult(label("unsure", unsure={"tesla"}), True, {"tesla": fired("tesla")}),
    ItemResult(label("not in its feed", must={"tesla"}), False, {}),
    ItemResult(label("other theme", must={"byd"}), True, {"byd": fired("byd")}),
]


def test_scores_count_live_alerts_only() -> None:
    report = score(RESULTS, {"tesla": "tesla", "byd": "byd"})
    tesla, byd = report.themes
    assert (tesla.must, tesla.never, tesla.unsure) == (3, 2, 1)
    assert (tesla.true_alerts, tesla.false_alarms, tesla.missed) == (1, 1, 2)
    assert tesla.precision == pytest.approx(0.5) and tesla.recall == pytest.approx(1 / 3)
    assert [(d.title, d.verdict) for d in report.misses] == [
        ("suppressed must", "suppressed"),
        ("unmatched must", "no match"),
    ]
    assert [d.title for d in report.false_alarms] == ["false alarm"]
    assert [x.title for x in report.not_found] == ["not in its feed"]
    assert (byd.precision, byd.recall) == (1.0, 1.0)


def test_thresholds_name_each_theme_below_them() -> None:
    report = score(RESULTS, {"tesla": "tesla", "byd": "byd"})
    assert report.below(min_precision=0.9, min_recall=0.9) == [
        "tesla: precision 0.500 < 0.900",
        "tesla: recall 0.333 < 0.900",
    ]
    assert report.below(min_precision=None, min_recall=None) == []


def test_no_alert_and_no_must_item_leave_the_ratios_undefined() -> None:
    report = score([ItemResult(label("n", never={"nev"}), True, {})], {"nev": "nev"})
    assert (report.themes[0].precision, report.themes[0].recall) == (None, None)
    assert report.below(min_precision=0.9, min_recall=0.9) == []


@pytest.mark.parametrize(
    ("themes", "rules", "overrides", "mapping", "problems"),
    [
        (["nev"], ["nev", "byd"], {}, {"nev": "nev"}, []),
        (["nev"], ["nev-market"], {}, {"nev": "nev-market"}, []),
        (["nev"], ["ev"], {"nev": "ev"}, {"nev": "ev"}, []),
        (["nev"], ["ev"], {"nev": "evs"}, {}, ["theme nev: no enabled rule 'evs'"]),
        (["nev"], ["byd"], {}, {}, ["theme nev: no rule; name one with --rule nev=RULE"]),
        (["nev"], ["nev-a", "nev-b"], {}, {}, ["theme nev: several rules start with nev-: nev-a, nev-b"]),
    ],
)
def test_each_theme_finds_its_rule(
    themes: list[str],
    rules: list[str],
    overrides: dict[str, str],
    mapping: dict[str, str],
    problems: list[str],
) -> None:
    found, said = theme_rules_for(themes, rules, overrides)
    assert found == mapping
    assert len(said) == len(problems) and all(s.startswith(p) for s, p in zip(said, problems, strict=True))
