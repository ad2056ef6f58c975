"""The match language of rules: syntax, meaning, and the parser that turns an expression into a tree.

Syntax: the lark grammar ``_GRAMMAR`` below (LALR). ``expr := or_expr``, ``or_expr := and_expr
("OR" and_expr)*``, ``and_expr := not_expr ("AND"? not_expr)*`` (juxtaposition is AND),
``not_expr := "NOT" not_expr | near_expr``, ``near_expr := primary ("NEAR/" INT primary)*``,
``primary := "(" expr ")" | FIELD ":" primary | term``, ``term := '"' phrase '"' | WORD | WORD "*"``.
Operators are the upper-case words AND, OR, NOT, NEAR/n ("and", "or", "not" are words). Precedence,
tightest first: parentheses, field scope, NEAR, NOT, AND, OR. A WORD is any run of characters but
whitespace, ``"``, ``(``, ``)``; a letters-only prefix ending in ``:`` is a field (quote a term
that contains ``word:``). A phrase holds anything but ``"``.

Operators in lower or mixed case are words: ``Xpeng or BYD`` needs all three words, "or"
included. :func:`operator_lookalikes` finds such a word where the operator would fit (``and``,
``or``, ``near/n`` between two operands, ``not`` before one, outside quotes); rule validation
reports it as a warning, not an error, since the word may be meant (write it in a phrase to
say so). :func:`describe` writes a tree out in full, every group in parentheses and such words
quoted: ``(Xpeng AND "or" AND BYD)``.

Meaning of a term (the character rules live in :mod:`service.matching.text`)
    * Case-insensitive and NFKC-normalised: term and item text are folded alike (casefold, NFKC,
      curly apostrophes become ``'``). Every dash (hyphen, non-breaking hyphen, en/em dash, minus)
      and every run of whitespace count as one space: ``new-energy vehicle`` matches "new energy
      vehicle", "New-Energy Vehicle" written with a non-breaking hyphen, and "new - energy
      vehicle"; ``China-made`` matches "China made".
    * Whole words: word characters are Unicode letters, digits and combining marks; ``_``, the
      apostrophe and other punctuation are not. Where a term begins (ends) with a word character,
      the text must not have a word character just before (after) the match: ``Nissan`` matches
      "Nissan's" and "nissan_motor"; ``Model 3`` matches "Model 3," but not "Model 35";
      ``.NET`` matches "ASP.NET", as the term begins with punctuation.
    * CJK (Han, Hiragana, Katakana, Hangul) characters never need a boundary: a CJK term matches
      as a substring, a mixed term is checked only at its non-CJK ends, and a CJK character next
      to a Latin word is a boundary ("比亚迪BYD汽车" matches ``BYD``).
    * Plurals: a term ending in a letter a-z also matches its simple English plural: +es after s,
      x, z, ch, sh; consonant + y becomes ies; otherwise +s (``battery`` matches "batteries",
      ``NEV`` "NEVs"). Not for terms ending in CJK, digits or punctuation, nor for wildcards.
    * Wildcard ``export*``: the folded stem (2 characters at least) at a word start, then
      anything; the hit reaches the end of the word. Only at the end of a WORD, not in a phrase.
    * Aliases: a WORD or phrase that folds like an alias name becomes ``name OR alternative ...``.
      Alternatives are plain phrases (no operators, no ``*``) and are not expanded again: an
      alternative naming another alias is just text. ``name*`` is never expanded.

Words and proximity
    A word is a maximal run of word characters; each CJK character is a word by itself. An
    occurrence covers the words it touches, ``f`` to ``l``. ``a NEAR/n b`` holds when an
    occurrence of ``a`` and one of ``b`` in the same field have at most ``n`` words between
    them, ``max(fb - la, fa - lb) - 1 <= n``, in either order (overlapping occurrences are near):
    NEAR/1 accepts "a b" and "a x b", not "a x y b". ``a NEAR/5 b NEAR/3 c`` is ``(a NEAR/5 b)
    AND (b NEAR/3 c)``, each pair checked on its own. A NEAR side is a term, a field scope of
    one, or a parenthesised OR group of those.

Field scope: ``title:x`` / ``text:x`` looks for every term under it only in the item's title /
body; unscoped terms look in both. Nested scopes must agree (``title:(text:x)`` is an error).
Evaluation: an expression is a pure boolean function of the item, so evaluation order cannot
change a result; rules are reported in the order they were compiled. A rule needs at least one
term that must be present (``NOT tesla``, ``tesla OR NOT byd`` are refused): that is what lets
the matcher look only at rules whose positive terms occur in the item.
Errors: :func:`parse_expression` raises :class:`~service.errors.ExpressionError` with a 1-based
column (characters from the start of the expression) for an empty expression, unbalanced
parentheses or quotes, an operator missing a side, empty parentheses, ``NEAR/0`` or ``NEAR/x``,
a wildcard in a phrase, on fewer than 2 characters or inside a word, an unknown field,
contradicting nested fields, an unsuitable NEAR side, a term with nothing left to match once
folded, and a rule without a term that must be present. An invalid expression never becomes a
rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, TypeAlias

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput, UnexpectedToken

from service.errors import ExpressionError
from service.matching.text import fold

Field = Literal["title", "text"]
FIELDS: tuple[Field, ...] = ("title", "text")
NO_PRESENT_TERM = "a rule needs at least one term that must be present"


@dataclass(frozen=True, slots=True)
class Term:
    """A word, phrase or wildcard: ``text`` as written, ``pattern`` folded (without the ``*``)."""

    text: str
    pattern: str
    wildcard: bool = False

    @property
    def display(self) -> str:
        return f"{self.text}*" if self.wildcard else self.text


@dataclass(frozen=True, slots=True)
class And:
    parts: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    parts: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Expr


@dataclass(frozen=True, slots=True)
class Near:
    left: Expr
    right: Expr
    distance: int


@dataclass(frozen=True, slots=True)
class Scoped:
    field: Field
    part: Expr


Expr: TypeAlias = Term | And | Or | Not | Near | Scoped

_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr ("OR" and_expr)*
?and_expr: not_expr ("AND"? not_expr)*
?not_expr: "NOT" not_expr -> negation
         | near_expr
?near_expr: primary (NEAR primary)*
?primary: "(" or_expr ")"
        | FIELD primary -> scoped
        | PHRASE -> phrase
        | WORD -> word
NEAR.2: /NEAR\/[0-9]+(?![^\s"()])/
FIELD.2: /[A-Za-z]+:/
PHRASE: /"[^"]*"/
WORD: /[^\s"()]+/
%ignore /\s+/
"""
_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="basic", propagate_positions=True)
_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR", "FIELD"})
_OPERAND_START = frozenset({"WORD", "PHRASE", "LPAR", "FIELD", "NOT"})
_OPERAND_END = frozenset({"WORD", "PHRASE", "RPAR"})
_BARE_WORD = re.compile(r'[^\s"()]+')
_FIELD_PREFIX = re.compile(r"[A-Za-z]+:")
_OPERATOR_WORD = re.compile(r"and|or|not|near(?:/[0-9]+)?", re.IGNORECASE)
_NO_ALIASES: Mapping[str, Sequence[str]] = MappingProxyType({})
_NEAR_USAGE = "NEAR needs a distance of 1 or more words, like NEAR/5"


def parse_expression(text: str, *, aliases: Mapping[str, Sequence[str]] = _NO_ALIASES) -> Expr:
    """The tree of a match expression; raises ExpressionError (with a column) when it is invalid."""
    if not text.strip():
        raise ExpressionError("empty expression", column=1)
    _check_balance(text)
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    folded_aliases = {fold(name).strip(): (name, tuple(alts)) for name, alts in aliases.items()}
    expr = _Builder(folded_aliases).build(tree, scope=None)
    if not has_required_term(expr):
        raise ExpressionError(NO_PRESENT_TERM, column=1)
    return expr


def has_required_term(expr: Expr) -> bool:
    """Whether ``expr`` is false on every item in which none of its positive terms occurs."""
    return not _possible_values(expr, negated=False)[0]


def expression_terms(expr: Expr) -> list[str]:
    """The distinct terms of ``expr`` as written (wildcards with their ``*``), in order."""
    return list(dict.fromkeys(term.display for term in iter_terms(expr)))


def iter_terms(expr: Expr, *, positive_only: bool = False, negated: bool = False) -> Iterator[Term]:
    """Every term of ``expr`` (under ``negated`` NOTs); with ``positive_only``, those under an even number."""
    for _, term, under_not in _placed_terms(expr, scope=None, negated=negated):
        if not (under_not and positive_only):
            yield term


def positive_terms(expr: Expr) -> list[Term | Scoped]:
    """The distinct terms of ``expr`` under an even number of NOTs, each in its field scope
    (``Scoped("title", recall)`` for ``title:recall``): the terms an item may hold for it to match."""
    placed = (
        term if scope is None else Scoped(scope, term)
        for scope, term, under_not in _placed_terms(expr, scope=None, negated=False)
        if not under_not
    )
    return list(dict.fromkeys(placed))


def _placed_terms(
    expr: Expr, *, scope: Field | None, negated: bool
) -> Iterator[tuple[Field | None, Term, bool]]:
    """``(field scope, term, under an odd number of NOTs)`` for every term of ``expr``, in order."""
    match expr:
        case Term():
            yield scope, expr, negated
        case Not(part):
            yield from _placed_terms(part, scope=scope, negated=not negated)
        case Scoped(field, part):
            yield from _placed_terms(part, scope=field, negated=negated)
        case And(parts) | Or(parts):
            for part in parts:
                yield from _placed_terms(part, scope=scope, negated=negated)
        case Near(left, right, _):
            yield from _placed_terms(left, scope=scope, negated=negated)
            yield from _placed_terms(right, scope=scope, negated=negated)


def describe(expr: Expr) -> str:
    """``expr`` written out in full, aliases expanded: every AND, OR and NEAR in parentheses.

    Parsing the result without aliases gives ``expr`` back. A term is quoted when it holds a
    space or could be read as an operator or a field, so ``"or"`` shows a lower-case or that
    was taken as a word: ``Xpeng or BYD`` is ``(Xpeng AND "or" AND BYD)``."""
    match expr:
        case Term():
            return f'"{expr.text}"' if not expr.wildcard and _needs_quotes(expr.text) else expr.display
        case And(parts) | Or(parts):
            joint = " AND " if isinstance(expr, And) else " OR "
            return f"({joint.join(describe(part) for part in parts)})"
        case Not(part):
            return f"NOT {describe(part)}"
        case Near(left, right, distance):
            return f"({describe(left)} NEAR/{distance} {describe(right)})"
        case Scoped(field, part):
            return f"{field}:{describe(part)}"


def _needs_quotes(text: str) -> bool:
    return (
        not _BARE_WORD.fullmatch(text)
        or _FIELD_PREFIX.match(text) is not None
        or _OPERATOR_WORD.fullmatch(text) is not None
    )


@dataclass(frozen=True, slots=True)
class Lookalike:
    """A word spelled like an operator, not in upper case, where the operator would fit."""

    word: str
    column: int

    def __str__(self) -> str:
        place = "before a term" if self.word.upper() == "NOT" else "between terms"
        return f'"{self.word}" {place} is the word {self.word}; did you mean {self.word.upper()}?'


def operator_lookalikes(text: str) -> list[Lookalike]:
    """Lower- or mixed-case ``and``, ``or``, ``near/n`` between two operands and ``not`` before
    one, outside quotes, in the valid expression ``text``.

    The parser takes them as words, so ``Xpeng or "He Xiaopeng"`` needs all three terms: a valid
    rule that rarely matches. Such a word is a warning, not an error, since it may be meant: the
    way to say so is a quoted phrase (``"park and ride"``), where no operator is looked for."""
    tokens = list(_PARSER.lex(text))
    found = []
    for i, token in enumerate(tokens):
        if token.type != "WORD" or not _OPERATOR_WORD.fullmatch(token) or token.casefold() == "near":
            continue
        before = tokens[i - 1].type if i > 0 else None
        after = tokens[i + 1].type if i + 1 < len(tokens) else None
        fits = before != "FIELD" if token.upper() == "NOT" else before in _OPERAND_END
        if fits and after in _OPERAND_START:
            found.append(Lookalike(str(token), _col(token)))
    return found


def _check_balance(text: str) -> None:
    opened: list[int] = []
    quote = -1
    for i, ch in enumerate(text):
        if quote >= 0:
            quote = -1 if ch == '"' else quote
        elif ch == '"':
            quote = i
        elif ch == "(":
            opened.append(i)
        elif ch == ")" and not opened:
            raise ExpressionError("unmatched closing parenthesis", column=i + 1)
        elif ch == ")":
            opened.pop()
    if quote >= 0:
        raise ExpressionError("unclosed quote", column=quote + 1)
    if opened:
        raise ExpressionError("unclosed parenthesis", column=opened[-1] + 1)


def _syntax_error(text: str, exc: UnexpectedInput) -> ExpressionError:
    """Word lark's complaint in the analyst's terms, pointing at the operator that lacks a side."""
    at_end = isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    position = len(text) if at_end else (exc.pos_in_stream or 0)
    tokens = list(_PARSER.lex(text))
    before = [t for t in tokens if (t.end_pos or 0) <= position]
    current = next((t for t in tokens if t.start_pos == position), None)
    previous = before[-1] if before else None
    if previous is not None and previous.type == "LPAR" and current is not None and current.type == "RPAR":
        return ExpressionError("empty parentheses", column=_col(previous))
    if previous is not None and previous.type in _OPERATORS:
        return ExpressionError(f"'{previous}' needs a term after it", column=_col(previous))
    if current is not None and current.type in _OPERATORS:
        return ExpressionError(f"'{current}' needs a term before it", column=_col(current))
    shown = "end of expression" if current is None else f"'{current}'"
    return ExpressionError(f"unexpected {shown}", column=position + 1)


def _col(node: Token | Tree[Token]) -> int:
    if isinstance(node, Token):
        return (node.start_pos or 0) + 1
    return node.meta.start_pos + 1


class _Builder:
    """lark tree → Expr, checking what the grammar cannot (fields, NEAR sides, terms)."""

    def __init__(self, aliases: Mapping[str, tuple[str, tuple[str, ...]]]) -> None:
        self._aliases = aliases

    def build(self, node: Tree[Token], *, scope: Field | None) -> Expr:
        children = node.children
        match node.data:
            case "or_expr":
                return Or(tuple(self._sub(c, scope) for c in children))
            case "and_expr":
                return And(tuple(self._sub(c, scope) for c in children))
            case "negation":
                return Not(self._sub(children[0], scope))
            case "near_expr":
                return self._near(children, scope)
            case "scoped":
                return self._scoped(children, scope)
            case "word":
                return self._word(_token(children[0]))
            case _:
                return self._phrase(_token(children[0]))

    def _sub(self, child: Token | Tree[Token], scope: Field | None) -> Expr:
        assert isinstance(child, Tree), "every operand is a rule of the grammar"
        return self.build(child, scope=scope)

    def _near(self, children: Sequence[Token | Tree[Token]], scope: Field | None) -> Expr:
        operands = [self._sub(c, scope) for c in children[0::2]]
        for child, operand in zip(children[0::2], operands, strict=True):
            if not _is_near_operand(operand):
                raise ExpressionError("NEAR joins terms or OR groups of terms", column=_col(child))
        pairs: list[Expr] = []
        for i, token in enumerate(children[1::2]):
            distance = int(_token(token)[len("NEAR/") :])
            if distance < 1:
                raise ExpressionError(_NEAR_USAGE, column=_col(token))
            pairs.append(Near(operands[i], operands[i + 1], distance))
        return pairs[0] if len(pairs) == 1 else And(tuple(pairs))

    def _scoped(self, children: Sequence[Token | Tree[Token]], scope: Field | None) -> Expr:
        token = _token(children[0])
        name = token[:-1]
        if name not in FIELDS:
            raise ExpressionError(f"unknown field '{name}' (fields are title: and text:)", column=_col(token))
        if scope is not None and name != scope:
            raise ExpressionError(f"'{name}:' inside '{scope}:' can never match", column=_col(token))
        field: Field = "title" if name == "title" else "text"
        return Scoped(field, self._sub(children[1], field))

    def _word(self, token: Token) -> Expr:
        word = str(token)
        if word == "NEAR" or word.startswith("NEAR/"):
            raise ExpressionError(_NEAR_USAGE, column=_col(token))
        star = word.find("*")
        if star < 0:
            return self._expand(word, _col(token))
        if star != len(word) - 1:
            raise ExpressionError("'*' may only end a word", column=_col(token) + star)
        pattern = fold(word[:-1]).strip()
        if len(pattern) < 2:
            raise ExpressionError("a wildcard needs at least 2 characters before the '*'", column=_col(token))
        return Term(word[:-1], pattern, wildcard=True)

    def _phrase(self, token: Token) -> Expr:
        content = str(token)[1:-1]
        if "*" in content:
            column = _col(token) + 1 + content.index("*")
            raise ExpressionError("a wildcard cannot be used inside a quoted phrase", column=column)
        if not content.strip():
            raise ExpressionError("empty quoted phrase", column=_col(token))
        return self._expand(content, _col(token))

    def _expand(self, written: str, column: int) -> Expr:
        term = _plain_term(written, column)
        alias = self._aliases.get(term.pattern)
        if alias is None:
            return term
        name, alternatives = alias
        expanded = [term]
        for alternative in alternatives:
            if "*" in alternative:
                raise ExpressionError(f"alias '{name}': '{alternative}' may not contain '*'", column=column)
            expanded.append(_plain_term(alternative, column))
        return Or(tuple(expanded))


def _plain_term(written: str, column: int) -> Term:
    pattern = fold(written).strip()
    if not pattern:
        raise ExpressionError(f"'{written}' holds only dashes and spaces: nothing to match", column=column)
    return Term(written, pattern)


def _token(node: Token | Tree[Token]) -> Token:
    assert isinstance(node, Token), "terms and operators are tokens"
    return node


def _is_near_operand(expr: Expr) -> bool:
    if isinstance(expr, Or):
        return all(_is_near_operand(p) for p in expr.parts)
    return isinstance(expr, Term) or (isinstance(expr, Scoped) and _is_near_operand(expr.part))


def _possible_values(expr: Expr, *, negated: bool) -> tuple[bool, bool]:
    """(can be true, can be false) with every positive term absent and the negated ones free.

    Repeated terms are treated as independent: an over-approximation, so "cannot be true" is sure."""
    match expr:
        case Term() | Near():
            return (negated, True)
        case Scoped(_, part):
            return _possible_values(part, negated=negated)
        case Not(part):
            can_true, can_false = _possible_values(part, negated=not negated)
            return (can_false, can_true)
        case And(parts):
            values = [_possible_values(p, negated=negated) for p in parts]
            return (all(t for t, _ in values), any(f for _, f in values))
        case Or(parts):
            values = [_possible_values(p, negated=negated) for p in parts]
            return (any(t for t, _ in values), all(f for _, f in values))
