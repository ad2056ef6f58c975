"""The match language: how expressions parse, what each term and operator means, every error."""

from __future__ import annotations

import pytest

from service.errors import ExpressionError
from service.matching import compile_rules, evaluate_slow, expression_terms, parse_expression
from service.matching.language import (
    And,
    Near,
    Not,
    Or,
    Scoped,
    Term,
    describe,
    operator_lookalikes,
    positive_terms,
)

ALIASES = {
    "Tesla": ["Tesla Motors", "TSLA"],
    "NEV": ["new-energy vehicle", "新能源汽车"],
    "BYD": ["Build Your Dreams", "NEV"],  # "NEV" here is text, not the alias
}


def t(text: str, *, wildcard: bool = False) -> Term:
    return parse_term(text, wildcard=wildcard)


def parse_term(text: str, *, wildcard: bool) -> Term:
    expr = parse_expression(f"{text}*" if wildcard else f'"{text}"')
    assert isinstance(expr, Term)
    return expr


def matches(expression: str, text: str, *, title: str = "") -> bool:
    """The reference answer, after checking that the compiled matcher gives the same one."""
    expr = parse_expression(expression, aliases=ALIASES)
    slow = evaluate_slow(expr, title=title, text=text)
    fast = bool(compile_rules([("r", expr)]).match(title=title, text=text))
    assert fast == slow, f"compiled matcher says {fast}, reference says {slow}"
    return slow


@pytest.mark.parametrize(
    ("expression", "tree"),
    [
        ("tesla", t("tesla")),
        ("tesla byd", And((t("tesla"), t("byd")))),
        ("tesla AND byd", And((t("tesla"), t("byd")))),
        ("tesla OR byd", Or((t("tesla"), t("byd")))),
        ("tesla NOT byd", And((t("tesla"), Not(t("byd"))))),
        ("tesla NEAR/3 recall", Near(t("tesla"), t("recall"), 3)),
        ("title:tesla", Scoped("title", t("tesla"))),
        ('"Model 3"', t("Model 3")),
        ("export*", t("export", wildcard=True)),
        # precedence: parentheses > field > NEAR > NOT > AND > OR
        ("a OR b c", Or((t("a"), And((t("b"), t("c")))))),
        ("(a OR b) c", And((Or((t("a"), t("b"))), t("c")))),
        ("NOT a NEAR/2 b c", And((Not(Near(t("a"), t("b"), 2)), t("c")))),
        ("title:a NEAR/2 b", Near(Scoped("title", t("a")), t("b"), 2)),
        ("c NOT title:a OR b", Or((And((t("c"), Not(Scoped("title", t("a"))))), t("b")))),
        ("a NEAR/5 b NEAR/3 c", And((Near(t("a"), t("b"), 5), Near(t("b"), t("c"), 3)))),
        ("NOT NOT a", Not(Not(t("a")))),
        ("tesla and or not", And((t("tesla"), t("and"), t("or"), t("not")))),
        ("ANDROID ORACLE NOTION", And((t("ANDROID"), t("ORACLE"), t("NOTION")))),
        ("Model 3", And((t("Model"), t("3")))),
        ("China-made O'Neill", And((t("China-made"), t("O'Neill")))),
    ],
)
def test_parse(expression: str, tree: object) -> None:
    assert parse_expression(expression) == tree


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("tesla", Or((t("tesla"), t("Tesla Motors"), t("TSLA")))),
        ('"TESLA"', Or((t("TESLA"), t("Tesla Motors"), t("TSLA")))),
        ("nev", Or((t("nev"), t("new-energy vehicle"), t("新能源汽车")))),
        ("byd", Or((t("byd"), t("Build Your Dreams"), t("NEV")))),  # not expanded again
        ("tesla*", t("tesla", wildcard=True)),  # wildcards are never aliases
        ('"tesla motors"', t("tesla motors")),
    ],
)
def test_alias_expansion(expression: str, expected: object) -> None:
    assert parse_expression(expression, aliases=ALIASES) == expected


def test_expression_terms_are_distinct_and_as_written() -> None:
    expr = parse_expression('Tesla OR (tesla "new-energy vehicle" NOT export*)', aliases={})
    assert expression_terms(expr) == ["Tesla", "tesla", "new-energy vehicle", "export*"]


# expression -> its canonical form: every group in parentheses, terms quoted when they must be
CANONICAL = [
    ('Xpeng OR "He Xiaopeng"', '(Xpeng OR "He Xiaopeng")'),
    ('Xpeng or "He Xiaopeng"', '(Xpeng AND "or" AND "He Xiaopeng")'),  # the word, made visible
    ("a OR b c", "(a OR (b AND c))"),
    ("tesla NOT title:recall", "(tesla AND NOT title:recall)"),
    ("NOT NOT a", "NOT NOT a"),
    ("NOT (a OR b) c", "(NOT (a OR b) AND c)"),
    ("a NEAR/5 b NEAR/3 c", "((a NEAR/5 b) AND (b NEAR/3 c))"),
    ('(Seal OR "Atto 3") NEAR/3 car', '((Seal OR "Atto 3") NEAR/3 car)'),
    ("title:(a OR b) text:c", "(title:(a OR b) AND text:c)"),
    ("export* O'Neill China-made", "(export* AND O'Neill AND China-made)"),
    ('"title:x" "AND" "near" "near/3" "a(b)"', '("title:x" AND "AND" AND "near" AND "near/3" AND "a(b)")'),
    ('"tesla"', "tesla"),
]


@pytest.mark.parametrize(("expression", "canonical"), CANONICAL, ids=[e for e, _ in CANONICAL])
def test_describe_writes_the_tree_out_in_full(expression: str, canonical: str) -> None:
    expr = parse_expression(expression)
    assert describe(expr) == canonical
    assert parse_expression(canonical) == expr


def test_describe_shows_alias_alternatives() -> None:
    expr = parse_expression("tesla recall", aliases=ALIASES)
    assert describe(expr) == '((tesla OR "Tesla Motors" OR TSLA) AND recall)'


def test_positive_terms_are_the_distinct_terms_outside_not_in_their_field() -> None:
    expr = parse_expression('title:(Tesla OR "Model 3") Tesla* NOT recall NOT NOT title:china Tesla')
    assert [describe(term) for term in positive_terms(expr)] == [
        "title:Tesla",
        'title:"Model 3"',
        "Tesla*",
        "title:china",
        "Tesla",
    ]


# expression -> the operator look-alikes in it, as (word, column)
LOOKALIKES: list[tuple[str, list[tuple[str, int]]]] = [
    ('Xpeng or "He Xiaopeng"', [("or", 7)]),
    ("tesla and byd", [("and", 7)]),
    ("tesla Or byd", [("Or", 7)]),  # mixed case too
    ("tesla not recall", [("not", 7)]),
    ("not recall tesla", [("not", 1)]),  # not needs only a term after it
    ("tesla near/5 china", [("near/5", 7)]),
    ('(a OR b) or title:c or "d e"', [("or", 10), ("or", 21)]),
    ("a OR b or NOT c", [("or", 8)]),
    ("a or or b", [("or", 3), ("or", 6)]),
    ('"Xpeng or He Xiaopeng"', []),  # inside a phrase: the words are meant
    ("Xpeng OR byd", []),
    ("Xpeng or", []),  # at an end it stands between nothing
    ("or Xpeng", []),
    ("tesla near china", []),  # near without a distance is an ordinary word
    ("title:not tesla", []),  # the scoped term itself
    ("ANDROID ORACLE NOTION notice", []),
    ("tesla (or) byd", []),
]


@pytest.mark.parametrize(("expression", "expected"), LOOKALIKES, ids=[e for e, _ in LOOKALIKES])
def test_operator_lookalikes(expression: str, expected: list[tuple[str, int]]) -> None:
    assert [(found.word, found.column) for found in operator_lookalikes(expression)] == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("a or b", '"or" between terms is the word or; did you mean OR?'),
        ("a AnD b", '"AnD" between terms is the word AnD; did you mean AND?'),
        ("not b", '"not" before a term is the word not; did you mean NOT?'),
        ("a near/3 b", '"near/3" between terms is the word near/3; did you mean NEAR/3?'),
    ],
)
def test_lookalike_messages_name_the_operator(expression: str, message: str) -> None:
    [found] = operator_lookalikes(expression)
    assert str(found) == message


@pytest.mark.parametrize(
    ("expression", "text", "expected"),
    [
        # case and normalisation
        ("tesla", "TESLA shares", True),
        ("Straße", "STRASSE closed", True),
        ("ｔｅｓｌａ", "tesla", True),
        ("ﬁat", "Fiat and Tesla", True),
        # hyphens and dashes are spaces between words
        ('"new-energy vehicle"', "new energy vehicle sales", True),
        ('"new-energy vehicle"', "New\u2011Energy Vehicle sales", True),
        ('"new energy vehicle"', "new\u2014energy  vehicle", True),
        ("China-made", "China made cars", True),
        ("China-made", "China-made cars", True),
        ("e-tron", "the Audi e\u2013tron", True),
        ("Mercedes-Benz", "Mercedes Benz", True),
        ("Mercedes-Benz", "MercedesBenz", False),
        # whole words, apostrophes, underscore, digits, punctuation
        ("Nissan", "Nissan's profit", True),
        ("Nissan", "Nissan\u2019s profit", True),
        ("O'Neill", "O\u2019Neill said", True),
        ("Ford", "we cannot afford it", False),
        ("Ford", "Fords", True),
        ("ford", "Ford_Motor", True),
        ('"Model 3"', "a Model 3.", True),
        ('"Model 3"', "a Model 35", False),
        ('"Model 3"', "a Model\n3 owner", True),
        ("3", "Model 3", True),
        ("tesla", "(Tesla)", True),
        ("tesla", "Teslas", True),
        ("tesla", "Teslarati", False),
        (".NET", "ASP.NET Core", True),
        # CJK: substrings; boundaries only at non-CJK ends
        ("新能源", "中国新能源汽车销量", True),
        ("汽车", "新能源汽车", True),
        ("BYD", "比亚迪BYD汽车", True),
        ("BYD中国", "BYD中国销量", True),
        ("BYD中国", "XBYD中国", False),
        ("トヨタ", "トヨタ自動車", True),
        ("현대", "현대자동차", True),
        # plurals
        ("vehicle", "electric vehicles", True),
        ("battery", "solid-state batteries", True),
        ("NEV", "NEVs sold", True),
        ("bus", "electric buses", True),
        ("tax", "taxes", True),
        ("launch", "launches", True),
        ("day", "days", True),
        ("battery", "batterys", False),
        ("vehicle", "vehicless", False),
        ("Model 3", "Model 3s", False),
        ("新能源", "新能源s", True),
        # wildcard
        ("export*", "exporters rose", True),
        ("export*", "Export", True),
        ("export*", "reexport", False),
        ("Merc*", "Mercedes-Benz", True),
    ],
)
def test_term_semantics(expression: str, text: str, expected: bool) -> None:
    assert matches(expression, text) is expected


@pytest.mark.parametrize(
    ("expression", "title", "text", "expected"),
    [
        ("tesla byd", "Tesla", "BYD", True),
        ("tesla AND byd", "Tesla", "", False),
        ("tesla OR byd", "", "byd", True),
        ("tesla NOT byd", "tesla", "", True),
        ("tesla NOT byd", "tesla", "byd", False),
        ("tesla NOT NOT byd", "tesla", "byd", True),
        ("title:tesla", "Tesla", "", True),
        ("title:tesla", "", "Tesla", False),
        ("text:tesla", "Tesla", "", False),
        ("title:(tesla OR byd) recall", "BYD", "recall", True),
        ("tesla NOT title:recall", "recall", "Tesla recall", False),
        ("tesla NOT title:recall", "Tesla", "recall", True),
        # NEAR: at most n words between the nearest ends, either order, same field
        ("tesla NEAR/1 recall", "", "tesla recall", True),
        ("tesla NEAR/1 recall", "", "recall tesla", True),
        ("tesla NEAR/1 recall", "", "tesla big recall", True),
        ("tesla NEAR/1 recall", "", "tesla big new recall", False),
        ("tesla NEAR/2 recall", "", "tesla big new recall", True),
        ("tesla NEAR/1 recall", "tesla", "recall", False),
        ('"model 3" NEAR/1 recall', "", "Model 3 big recall", True),
        ('"model 3" NEAR/1 recall', "", "recall of the Model 3", False),
        ("tesla NEAR/1 recall", "", "Tesla's recall", True),
        ("tesla NEAR/1 recall", "", "tesla, the recall", True),
        ("tesla NEAR/1 recall", "", "tesla - - - recall", True),
        ("汽车 NEAR/1 召回", "", "汽车大召回", True),
        ("汽车 NEAR/1 召回", "", "汽车的大召回", False),
        ("vehicle NEAR/3 vehicle", "", "one vehicle", True),
        ("(tesla OR byd) NEAR/2 recall*", "", "BYD announced recalls", True),
        ("title:tesla NEAR/2 recall", "", "tesla recall", False),
        ("tesla NEAR/3 recall NEAR/1 china", "", "tesla recall in china", True),
        ("tesla NEAR/3 recall NEAR/1 china", "", "tesla recall in rural china", False),
        ("NEV", "", "新能源汽车 sales", True),
        ("BYD", "", "NEVs", True),
        ("BYD", "", "new-energy vehicle", False),
    ],
)
def test_operator_semantics(expression: str, title: str, text: str, expected: bool) -> None:
    assert matches(expression, text, title=title) is expected


@pytest.mark.parametrize(
    ("expression", "message", "column"),
    [
        ("", "empty expression", 1),
        ("   ", "empty expression", 1),
        ("(tesla OR byd", "unclosed parenthesis", 1),
        ("tesla OR byd)", "unmatched closing parenthesis", 13),
        ('tesla "model 3', "unclosed quote", 7),
        ("tesla ()", "empty parentheses", 7),
        ("tesla AND", "'AND' needs a term after it", 7),
        ("tesla OR", "'OR' needs a term after it", 7),
        ("OR tesla", "'OR' needs a term before it", 1),
        ("tesla (AND byd)", "'AND' needs a term before it", 8),
        ("tesla OR OR byd", "'OR' needs a term after it", 7),
        ("tesla NOT", "'NOT' needs a term after it", 7),
        ("tesla NEAR/3", "'NEAR/3' needs a term after it", 7),
        ("tesla title:", "'title:' needs a term after it", 7),
        ("tesla NEAR/0 recall", "NEAR needs a distance of 1 or more words, like NEAR/5", 7),
        ("tesla NEAR/x recall", "NEAR needs a distance of 1 or more words, like NEAR/5", 7),
        ("tesla NEAR recall", "NEAR needs a distance of 1 or more words, like NEAR/5", 7),
        ("tesla NEAR/2x recall", "NEAR needs a distance of 1 or more words, like NEAR/5", 7),
        ('"electric veh*"', "a wildcard cannot be used inside a quoted phrase", 14),
        ("tesla a*", "a wildcard needs at least 2 characters before the '*'", 7),
        ("-x*", "a wildcard needs at least 2 characters before the '*'", 1),
        ("ex*port", "'*' may only end a word", 3),
        ("body:tesla", "unknown field 'body' (fields are title: and text:)", 1),
        ("Title:tesla", "unknown field 'Title' (fields are title: and text:)", 1),
        ("title:(tesla text:byd)", "'text:' inside 'title:' can never match", 14),
        ("tesla NEAR/3 (recall NOT china)", "NEAR joins terms or OR groups of terms", 15),
        ('tesla ""', "empty quoted phrase", 7),
        ("tesla \u2014", "'\u2014' holds only dashes and spaces: nothing to match", 7),
        ("NOT tesla", "a rule needs at least one term that must be present", 1),
        ("tesla OR NOT byd", "a rule needs at least one term that must be present", 1),
        ("NOT (tesla byd)", "a rule needs at least one term that must be present", 1),
        ("NOT title:tesla", "a rule needs at least one term that must be present", 1),
    ],
)
def test_errors(expression: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(expression)
    assert (caught.value.message, caught.value.column) == (message, column)


def test_alias_alternative_with_a_wildcard_is_refused_where_the_alias_is_used() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression("recall tesla", aliases={"tesla": ["tesla*"]})
    assert caught.value.column == 8


@pytest.mark.parametrize("expression", ["NOT tesla byd", "tesla NOT (byd OR NOT nio)", "NOT NOT tesla"])
def test_rules_with_a_required_term_are_accepted(expression: str) -> None:
    parse_expression(expression)
