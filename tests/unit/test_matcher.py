"""The compiled matcher: which rules match which items, the hits it reports, compile-once behaviour."""

from __future__ import annotations

import pytest

from service.errors import ExpressionError
from service.matching import RuleMatch, TermHit, compile_rules, evaluate_slow, parse_expression
from service.matching.language import Not, Term
from service.matching.text import fold, normalise

RULES = {
    "nev": '"new-energy vehicle" OR NEV OR 新能源汽车',
    "tesla-recall": "tesla NEAR/3 recall*",
    "byd-not-tesla": "BYD NOT tesla",
    "title-nissan": "title:Nissan",
    "exports": "China-made export*",
    "battery": "(solid-state OR sodium) battery",
    "model3": '"Model 3" NOT text:Y',
}
ITEMS = {
    "nev-title": ("New\u2011Energy Vehicles gain share", "Sales rose."),
    "tesla-recall": ("Tesla news", "Tesla will recall 5,000 cars; BYD shrugs."),
    "tesla-far": ("", "Tesla said on Monday that some older cars need a recall."),
    "byd": ("BYD\u2019s NEVs", "BYD expands in Europe."),
    "nissan-body": ("Car news", "Nissan's profits fell."),
    "nissan-title": ("Nissan\u2019s profits fell", ""),
    "exports": ("", "China made EVs: exporters expect more."),
    "battery": ("Sodium-ion? No: sodium batteries", "CATL solid\u2013state battery plans."),
    "model3": ("Model 3 refresh", "The Model Y stays."),
    "cjk": ("中国新能源汽车销量", ""),
    "nothing": ("Weather", "Sunny and warm."),
}
EXPECTED = {
    "nev-title": ["nev"],
    "tesla-recall": ["tesla-recall"],
    "tesla-far": [],
    "byd": ["nev", "byd-not-tesla"],
    "nissan-body": [],
    "nissan-title": ["title-nissan"],
    "exports": ["exports"],
    "battery": ["battery"],
    "model3": [],
    "cjk": ["nev"],
    "nothing": [],
}


@pytest.mark.parametrize("item", list(ITEMS))
def test_rules_matching_each_item(item: str) -> None:
    rules = [(rule_id, parse_expression(text)) for rule_id, text in RULES.items()]
    title, text = ITEMS[item]
    found = [m.rule_id for m in compile_rules(rules).match(title=title, text=text)]
    assert found == EXPECTED[item]
    assert found == [rule_id for rule_id, expr in rules if evaluate_slow(expr, title=title, text=text)]


@pytest.mark.parametrize("item", list(ITEMS))
def test_rules_compiled_together_answer_as_each_compiled_alone(item: str) -> None:
    rules = [(rule_id, parse_expression(text)) for rule_id, text in RULES.items()]
    title, text = ITEMS[item]
    together = compile_rules(rules).match(title=title, text=text)
    alone = [m for rule in rules for m in compile_rules([rule]).match(title=title, text=text)]
    assert together == alone


def highlighted(match: RuleMatch, *, title: str, text: str) -> list[tuple[str, str, str]]:
    source = {"title": title, "text": text}
    return [(h.term, h.field, source[h.field][h.start : h.end]) for h in match.hits]


@pytest.mark.parametrize(
    ("expression", "title", "text", "hits"),
    [
        (
            '"new-energy vehicle"',
            "New\u2011Energy Vehicles",
            "",
            [("new-energy vehicle", "title", "New\u2011Energy Vehicles")],
        ),
        (
            '"new energy vehicle"',
            "",
            "a new \u2014 energy  vehicle.",
            [("new energy vehicle", "text", "new \u2014 energy  vehicle")],
        ),
        (
            "straße",
            "Die STRASSE und die Straße",
            "",
            [("straße", "title", "STRASSE"), ("straße", "title", "Straße")],
        ),
        (
            "cafe\u0301",
            "Caf\u00e9 and cafe\u0301",
            "",
            [("cafe\u0301", "title", "Caf\u00e9"), ("cafe\u0301", "title", "cafe\u0301")],
        ),
        ("fiat", "\ufb01at news", "", [("fiat", "title", "\ufb01at")]),
        (
            "export*",
            "",
            "Exporters, exports",
            [("export*", "text", "Exporters"), ("export*", "text", "exports")],
        ),
        ("新能源", "", "中国新能源汽车", [("新能源", "text", "新能源")]),
        ("nissan", "", "NISSAN\u2019S results", [("nissan", "text", "NISSAN")]),
        # only positive terms are reported; both sides of a NEAR pair; title first
        ("tesla NOT byd", "Tesla", "tesla", [("tesla", "title", "Tesla"), ("tesla", "text", "tesla")]),
        (
            "tesla NEAR/1 recall",
            "",
            "recall was old news. Tesla big recall",
            [("tesla", "text", "Tesla"), ("recall", "text", "recall")],
        ),
        ("tesla OR byd", "BYD", "", [("byd", "title", "BYD")]),
    ],
)
def test_hits_point_into_the_original_strings(
    expression: str, title: str, text: str, hits: list[tuple[str, str, str]]
) -> None:
    [match] = compile_rules([("r", parse_expression(expression))]).match(title=title, text=text)
    assert highlighted(match, title=title, text=text) == hits


def test_hit_offsets_and_order() -> None:
    matcher = compile_rules([("a", parse_expression("recall tesla"))])
    assert matcher.match(title="Tesla recall", text="A recall") == [
        RuleMatch(
            "a",
            (
                TermHit("tesla", "title", 0, 5),
                TermHit("recall", "title", 6, 12),
                TermHit("recall", "text", 2, 8),
            ),
        )
    ]


def test_rules_come_back_in_compile_order() -> None:
    rules = [(f"r{i}", parse_expression(word)) for i, word in enumerate(["z", "tesla", "a", "Tesla"])]
    matched = compile_rules(rules).match(title="Tesla", text="")
    assert [m.rule_id for m in matched] == ["r1", "r3"]


def test_no_rules_match_nothing() -> None:
    assert compile_rules([]).match(title="tesla", text="tesla") == []


def test_compile_refuses_a_rule_without_a_required_term() -> None:
    with pytest.raises(ExpressionError, match="rule bad: a rule needs at least one term"):
        compile_rules([("bad", Not(Term("tesla", "tesla")))])


def test_many_rules_sharing_terms() -> None:
    words = ["tesla", "byd", "nio", "recall", "battery", "vehicle", "汽车"]
    rules = [
        (f"r{i}-{j}", parse_expression(f"{a} {b}" if i % 2 else f"{a} NEAR/2 {b}"))
        for i, a in enumerate(words)
        for j, b in enumerate(words)
    ]
    title, text = "BYD battery recall", "Tesla and NIO: vehicles, 汽车 recall."
    together = compile_rules(rules).match(title=title, text=text)
    assert [m.rule_id for m in together] == [
        rule_id for rule_id, expr in rules if evaluate_slow(expr, title=title, text=text)
    ]
    assert together == [m for rule in rules for m in compile_rules([rule]).match(title=title, text=text)]


@pytest.mark.parametrize(
    "original",
    [
        "Tesla\u2019s  New\u2011Energy \u2014 Vehicles",
        "Stra\u00dfe \ufb01at cafe\u0301 \u00bd \u00ad soft",
        "  leading and trailing  \n",
        "中国 新能源 汽车\u3000销量",
        "",
    ],
)
def test_normalise_is_fold_with_a_way_back(original: str) -> None:
    normalised = normalise(original)
    assert normalised.text == fold(original)
    assert normalised.offsets.to_original(0) == 0
    assert normalised.offsets.to_original(len(normalised.text)) == len(original)
    for word in normalised.text.split():
        start = normalised.text.index(word)
        back = original[
            normalised.offsets.to_original(start) : normalised.offsets.to_original(start + len(word))
        ]
        assert fold(back).strip() == word
