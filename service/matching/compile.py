"""Compile parsed rules once per rules version; match every item against all of them at once.

The meaning of an expression is defined in :mod:`service.matching.language`; this module only
makes it fast. :func:`compile_rules` puts every distinct folded pattern of every rule (plurals
included) into one Aho-Corasick automaton and records which rules each term can make true. Per
item, :meth:`Matcher.match` folds the title and the text once (keeping the map back to the
original offsets), runs the automaton once per field, keeps the occurrences whose boundaries hold,
and evaluates only the *candidate* rules: those with at least one positive term present. A rule
needs such a term to be true (the parser refuses rules without one), so skipping the others is
exact, and the cost per item grows with the hits, not with the number of rules.

Hits: a :class:`RuleMatch` carries the occurrences of the positive terms that made the rule true
(terms of OR branches that were true, both sides of a NEAR pair that was near; never terms under
NOT), ordered by field (title first) and offset, with offsets into the original strings.

:func:`evaluate_slow` is the reference: a direct reading of the semantics that scans the folded
text for each term with ``str.find``, with no automaton, no candidates and no regular expressions.
Tests hold the matcher to it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import ahocorasick

from service.errors import ExpressionError
from service.matching.language import (
    FIELDS,
    NO_PRESENT_TERM,
    And,
    Expr,
    Field,
    Near,
    Not,
    Or,
    Scoped,
    Term,
    has_required_term,
    iter_terms,
)
from service.matching.text import (
    CLASS_TABLE,
    WORD,
    Normalised,
    classes,
    find_term,
    fold,
    needs_left_boundary,
    needs_right_boundary,
    normalise,
    variants,
    word_end,
    word_starts,
)

TermKey = tuple[str, bool]
"""(folded pattern, wildcard): terms written differently but folding alike are searched once."""
Found = tuple[int, int, int, str]
"""(field index into FIELDS, start, end, term as written), offsets in folded text: in this order,
sorting hits sorts them by field and offset."""
Span = tuple[int, int]
"""(first word, last word) of an occurrence."""
BOTH = (0, 1)
_CLASSES = CLASS_TABLE


class TermHit(NamedTuple):
    """One occurrence: ``start``/``end`` index the original title or text (for highlighting).

    A named tuple rather than a frozen dataclass: one is made for every hit of every rule an item
    matches, and a tuple is made in half the time (5 000 generated terms: ~31 000 per corpus pass).
    """

    term: str
    field: Field
    start: int
    end: int


_new_tuple = tuple.__new__


class RuleMatch(NamedTuple):
    """A rule an item satisfies, and the occurrences that made it true. A named tuple made with
    ``tuple.__new__``, as ``TermHit`` is: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, and 5 000 generated terms make ~16 000 matches per corpus pass."""

    rule_id: str
    hits: tuple[TermHit, ...]


@dataclass(slots=True)
class _FieldText:
    normalised: Normalised
    _classes: str | None = None
    _word_starts: list[int] | None = None

    @property
    def classes(self) -> str:
        """The character classes of the folded text, computed when a NEAR needs them."""
        if self._classes is None:
            self._classes = classes(self.normalised.text)
        return self._classes

    def word_span(self, start: int, end: int) -> Span:
        """The words the folded range ``start:end`` touches (see "Words and proximity")."""
        if self._word_starts is None:
            self._word_starts = word_starts(self.classes)
        return bisect_left(self._word_starts, start), bisect_right(self._word_starts, end - 1) - 1


@dataclass(slots=True)
class _Item:
    fields: tuple[_FieldText, ...]
    occurrences: dict[TermKey, list[tuple[int, int, int]]] = field(default_factory=dict)

    def found(self, term: Term, fields: tuple[int, ...]) -> list[Found]:
        hits = self.occurrences.get((term.pattern, term.wildcard))
        if hits is None:
            return []
        return [(f, s, e, term.display) for f, s, e in hits if f in fields]

    def term_hits(self, found: list[Found]) -> tuple[TermHit, ...]:
        """The distinct hits, by field (title first) and offset, in original offsets.

        Runs once per hit of every match (at 5 000 generated terms, 28 437 hits of 16 380
        matches per corpus pass), so hits are made with ``tuple.__new__``: a named tuple's own
        constructor is a Python function, and calling it was 31 M of the 926 M instructions
        (valgrind) spent evaluating and reporting there. A field whose folding kept every
        position skips the way back altogether.
        """
        ordered = sorted(set(found)) if len(found) > 1 else found
        hits: list[TermHit] = []
        placed = -1
        for f, start, end, term in ordered:  # by field: each field's way back is looked up once
            if f != placed:
                placed, name, offsets = f, FIELDS[f], self.fields[f].normalised.offsets
                back = None if offsets.is_identity else offsets.to_original
            if back is None:
                hits.append(_new_tuple(TermHit, (term, name, start, end)))
            else:
                hits.append(_new_tuple(TermHit, (term, name, back(start), back(end))))
        return tuple(hits)


@dataclass(frozen=True, slots=True)
class _Pattern:
    """A folded string in the automaton, and the terms it is a variant of."""

    length: int
    left: bool
    right: bool
    users: tuple[TermKey, ...]


class Matcher:
    """Every rule of one rules version, ready to match items; build it with :func:`compile_rules`."""

    def __init__(
        self,
        rules: Sequence[tuple[str, Expr]],
        rules_of_term: dict[TermKey, frozenset[int]],
        patterns: dict[str, _Pattern],
    ) -> None:
        self._rules = tuple(rules)
        self._evaluators = tuple(_evaluator(expr) for _, expr in self._rules)
        self._rules_of_term = rules_of_term
        self._pattern_rows = tuple(
            (
                p.length,
                p.left,
                p.right,
                tuple(key for key in p.users if not key[1]),
                tuple(key for key in p.users if key[1]),
            )
            for p in patterns.values()
        )
        self._automaton = ahocorasick.Automaton()
        for pattern, row in zip(patterns, self._pattern_rows, strict=True):
            self._automaton.add_word(pattern, row)  # the row itself: no look-up per hit
        if patterns:
            self._automaton.make_automaton()

    def match(self, *, title: str, text: str) -> list[RuleMatch]:
        """The rules the item satisfies, in the order they were compiled."""
        if not self._pattern_rows:
            return []
        item = self._scan(title, text)
        candidates = sorted(set().union(*(self._rules_of_term.get(key, ()) for key in item.occurrences)))
        matches = []
        for index in candidates:
            found = self._evaluators[index](item, BOTH)
            if found is not None:
                matches.append(_new_tuple(RuleMatch, (self._rules[index][0], item.term_hits(found))))
        return matches

    def _scan(self, title: str, text: str) -> _Item:
        """Every occurrence of every term in the title and the text whose boundaries hold.

        This loop runs once per automaton hit, so it is written flat: one tuple per pattern
        (no attribute look-ups), the common separator (a space) tested before the class
        table, and hits appended straight to the terms they belong to.
        """
        item = _Item(tuple(_field_text(value) for value in (title, text)))
        occurrences = item.occurrences
        class_of = _CLASSES
        for f, field_text in enumerate(item.fields):
            folded = field_text.normalised.text
            size = len(folded)
            for last, (length, left, right, closed_keys, wildcard_keys) in self._automaton.iter(folded):
                end = last + 1
                start = end - length
                if left and start:
                    before = folded[start - 1]
                    if before != " " and class_of[ord(before)] == WORD:
                        continue
                if closed_keys and (
                    not right or end == size or folded[end] == " " or class_of[ord(folded[end])] != WORD
                ):
                    for key in closed_keys:
                        occurrences.setdefault(key, []).append((f, start, end))
                if wildcard_keys:
                    hit = (f, start, word_end(folded, end))
                    for key in wildcard_keys:
                        occurrences.setdefault(key, []).append(hit)
        return item


def _field_text(value: str) -> _FieldText:
    return _FieldText(normalise(value))


def compile_rules(rules: Sequence[tuple[str, Expr]]) -> Matcher:
    """One matcher for all ``(rule id, expression)`` pairs; build it once per rules version."""
    rules_of_term: dict[TermKey, set[int]] = {}
    users: dict[str, list[TermKey]] = {}
    for index, (rule_id, expr) in enumerate(rules):
        if not has_required_term(expr):
            raise ExpressionError(f"rule {rule_id}: {NO_PRESENT_TERM}", column=1)
        for term in iter_terms(expr):
            key = (term.pattern, term.wildcard)
            for variant in variants(term.pattern, wildcard=term.wildcard):
                users.setdefault(variant, [])
                if key not in users[variant]:
                    users[variant].append(key)
        for term in iter_terms(expr, positive_only=True):
            rules_of_term.setdefault((term.pattern, term.wildcard), set()).add(index)
    patterns = {
        variant: _Pattern(
            len(variant),
            needs_left_boundary(variant),
            needs_right_boundary(variant, wildcard=False),
            tuple(keys),
        )
        for variant, keys in users.items()
    }
    negation_normal = [(rule_id, _push_negations(expr, negated=False)) for rule_id, expr in rules]
    return Matcher(negation_normal, {key: frozenset(r) for key, r in rules_of_term.items()}, patterns)


def _push_negations(expr: Expr, *, negated: bool) -> Expr:
    """The same rule with NOT only on terms and NEARs (De Morgan), so every positive hit is reported."""
    match expr:
        case Not(part):
            return _push_negations(part, negated=not negated)
        case Scoped(name, part):
            return Scoped(name, _push_negations(part, negated=negated))
        case And(parts) | Or(parts):
            pushed = tuple(_push_negations(p, negated=negated) for p in parts)
            return (Or if isinstance(expr, And) == negated else And)(pushed)
        case _:
            return Not(expr) if negated else expr


# --- evaluation of one candidate rule ---------------------------------------------------------------

Evaluator = Callable[["_Item", tuple[int, ...]], "list[Found] | None"]


def _evaluator(expr: Expr) -> Evaluator:
    """``expr`` compiled once into nested closures: the same answers as :func:`_hits`, without
    walking and dispatching on the tree for every candidate rule of every item."""
    match expr:
        case Term():
            key, display = (expr.pattern, expr.wildcard), expr.display

            def term(item: _Item, fields: tuple[int, ...]) -> list[Found] | None:
                hits = item.occurrences.get(key)
                if hits is None:
                    return None
                if fields is BOTH:
                    return [(f, s, e, display) for f, s, e in hits]
                return [(f, s, e, display) for f, s, e in hits if f in fields] or None

            return term
        case And(parts):
            all_of = tuple(_evaluator(p) for p in parts)
            # A part that cannot be true without one of its terms present turns the item away
            # before any part is evaluated: most candidates of a rule such as "(brands OR
            # (China NEAR car)) AND (export OR tariffs)" lack the second part, and the first,
            # evaluated in full, was most of the matching time they cost.
            needed = tuple(keys for p in parts if (keys := _needed_keys(p)) is not None)

            def conjunction(item: _Item, fields: tuple[int, ...]) -> list[Found] | None:
                present = item.occurrences.keys()
                for keys in needed:
                    # Asked of the dict's keys, the test walks the smaller side; a frozenset asked
                    # of a dict walks every term the item holds (5 000 generated terms: ~30).
                    if present.isdisjoint(keys):
                        return None
                found: list[Found] = []
                for evaluate in all_of:
                    part_hits = evaluate(item, fields)
                    if part_hits is None:
                        return None
                    found += part_hits
                return found

            return conjunction
        case Or(parts) if all(isinstance(p, Term) for p in parts):
            # The commonest shape ("a" OR "b" OR ...): one loop over the terms, no call per term.
            terms = tuple(((p.pattern, p.wildcard), p.display) for p in parts if isinstance(p, Term))

            def any_term(item: _Item, fields: tuple[int, ...]) -> list[Found] | None:
                occurrences = item.occurrences
                found: list[Found] | None = None
                for key, display in terms:
                    hits = occurrences.get(key)
                    if hits is not None:
                        if fields is BOTH:
                            part_hits = [(f, s, e, display) for f, s, e in hits]
                        else:
                            part_hits = [(f, s, e, display) for f, s, e in hits if f in fields]
                        if part_hits:
                            found = part_hits if found is None else found + part_hits
                return found

            return any_term
        case Or(parts):
            any_of = tuple(_evaluator(p) for p in parts)

            def disjunction(item: _Item, fields: tuple[int, ...]) -> list[Found] | None:
                found: list[Found] | None = None
                for evaluate in any_of:
                    part_hits = evaluate(item, fields)
                    if part_hits is not None:
                        found = part_hits if found is None else found + part_hits
                return found

            return disjunction
        case Not(part):
            inner = _evaluator(part)
            return lambda item, fields: [] if inner(item, fields) is None else None
        case Scoped(name, part):
            inner, index = _evaluator(part), FIELDS.index(name)
            return lambda item, fields: inner(item, (index,) if index in fields else ())
        case Near(left, right, distance):
            # Each side flattened once into its terms and the fields each may count in, so an
            # item's hits are collected in one loop: walking the side's OR group for every
            # candidate item was a third of the matching time with the shipped rules.
            lefts_of, rights_of = _flat_operand(left, BOTH), _flat_operand(right, BOTH)

            def near(item: _Item, fields: tuple[int, ...]) -> list[Found] | None:
                found: list[Found] = []
                for f in fields:
                    lefts = _occurrences(item, lefts_of, f)
                    rights = _occurrences(item, rights_of, f) if lefts else None
                    if lefts and rights:  # word positions are worked out only when both sides occur
                        text_of_f = item.fields[f]
                        found += _near_pairs(
                            _with_spans(text_of_f, lefts), _with_spans(text_of_f, rights), distance
                        )
                return found or None

            return near
        case _:
            return lambda item, fields: _hits(expr, item, fields)


def _needed_keys(expr: Expr) -> frozenset[TermKey] | None:
    """Terms of which one at least must occur (in any field) for ``expr`` to be true, or None when
    ``expr`` can be true with none of its terms present (a NOT)."""
    match expr:
        case Term():
            return frozenset({(expr.pattern, expr.wildcard)})
        case Or(parts):
            union: set[TermKey] = set()
            for part in parts:
                keys = _needed_keys(part)
                if keys is None:
                    return None
                union |= keys
            return frozenset(union)
        case And(parts):
            known = [k for p in parts if (k := _needed_keys(p)) is not None]
            return min(known, key=len) if known else None
        case Near(left, _right, _distance):
            return _needed_keys(left)
        case Scoped(_name, part):
            return _needed_keys(part)
        case _:
            return None


FlatTerm = tuple[TermKey, str, tuple[int, ...]]
"""(term key, term as written, the fields it may count in) of one side of a NEAR."""


def _flat_operand(expr: Expr, fields: tuple[int, ...]) -> tuple[FlatTerm, ...]:
    """The terms of one side of a NEAR, in the order :func:`_operand` visits them."""
    match expr:
        case Term():
            return (((expr.pattern, expr.wildcard), expr.display, fields),)
        case Or(parts):
            return tuple(term for part in parts for term in _flat_operand(part, fields))
        case Scoped(name, part):
            return _flat_operand(part, _narrow(fields, name))
        case _:
            raise AssertionError("the parser lets only terms and OR groups of terms be NEAR sides")


def _occurrences(item: _Item, terms: tuple[FlatTerm, ...], f: int) -> list[Found]:
    """Every occurrence in field ``f`` of the terms of one side of a NEAR."""
    occurrences = item.occurrences
    found: list[Found] = []
    for key, display, fields in terms:
        hits = occurrences.get(key)
        if hits is not None and f in fields:
            found += [(f, s, e, display) for hit_field, s, e in hits if hit_field == f]
    return found


def _hits(expr: Expr, item: _Item, fields: tuple[int, ...]) -> list[Found] | None:
    """The positive hits that make ``expr`` true within ``fields``, or None when it is false."""
    match expr:
        case Term():
            return item.found(expr, fields) or None
        case And(parts):
            found: list[Found] = []
            for part in parts:
                part_hits = _hits(part, item, fields)
                if part_hits is None:
                    return None
                found += part_hits
            return found
        case Or(parts):
            found, true = [], False
            for part in parts:
                part_hits = _hits(part, item, fields)
                if part_hits is not None:
                    found, true = found + part_hits, True
            return found if true else None
        case Not(part):
            return [] if _hits(part, item, fields) is None else None
        case Scoped(name, part):
            return _hits(part, item, _narrow(fields, name))
        case Near(left, right, distance):
            near: list[Found] = []
            for f in fields:
                lefts = _operand(left, item, (f,))
                rights = _operand(right, item, (f,)) if lefts else None
                if lefts and rights:  # word positions are worked out only when both sides occur
                    text_of_f = item.fields[f]
                    near += _near_pairs(
                        _with_spans(text_of_f, lefts), _with_spans(text_of_f, rights), distance
                    )
            return near or None


def _operand(expr: Expr, item: _Item, fields: tuple[int, ...]) -> list[Found]:
    """Every occurrence of one side of a NEAR: a term, an OR group of them, or a field scope."""
    match expr:
        case Term():
            return item.found(expr, fields)
        case Or(parts):
            return [hit for part in parts for hit in _operand(part, item, fields)]
        case Scoped(name, part):
            return _operand(part, item, _narrow(fields, name))
        case _:
            raise AssertionError("the parser lets only terms and OR groups of terms be NEAR sides")


def _narrow(fields: tuple[int, ...], name: Field) -> tuple[int, ...]:
    index = FIELDS.index(name)
    return (index,) if index in fields else ()


def _with_spans(field_text: _FieldText, found: list[Found]) -> list[tuple[Span, Found]]:
    return [(field_text.word_span(hit[1], hit[2]), hit) for hit in found]


def _near_pairs(
    lefts: list[tuple[Span, Found]], rights: list[tuple[Span, Found]], distance: int
) -> list[Found]:
    """The occurrences on either side that have a partner at most ``distance`` words away."""
    if not lefts or not rights:
        return []
    rights.sort()
    firsts = [first for (first, _), _ in rights]
    longest = max(last - first for (first, last), _ in rights)
    found: dict[Found, None] = {}
    for span, hit in lefts:
        lo = bisect_left(firsts, span[0] - distance - 1 - longest)
        hi = bisect_right(firsts, span[1] + distance + 1)
        partners = [
            other for other_span, other in rights[lo:hi] if _words_between(span, other_span) <= distance
        ]
        if partners:
            found[hit] = None
            found.update(dict.fromkeys(partners))
    return list(found)


def _words_between(a: Span, b: Span) -> int:
    return max(b[0] - a[1], a[0] - b[1]) - 1


# --- the reference evaluator -------------------------------------------------------------------------


def evaluate_slow(expr: Expr, *, title: str, text: str) -> bool:
    """Whether the item satisfies ``expr``, read straight from the semantics (for tests)."""
    return _slow(expr, {"title": fold(title), "text": fold(text)}, set(FIELDS))


def _slow(expr: Expr, folded: dict[str, str], fields: set[str]) -> bool:
    match expr:
        case Term():
            return any(find_term(folded[f], expr.pattern, wildcard=expr.wildcard) for f in fields)
        case And(parts):
            return all(_slow(p, folded, fields) for p in parts)
        case Or(parts):
            return any(_slow(p, folded, fields) for p in parts)
        case Not(part):
            return not _slow(part, folded, fields)
        case Scoped(name, part):
            return _slow(part, folded, fields & {name})
        case Near(left, right, distance):
            return any(
                _words_between(a, b) <= distance
                for f in fields
                for a in _slow_operand(left, folded, f)
                for b in _slow_operand(right, folded, f)
            )


def _slow_operand(expr: Expr, folded: dict[str, str], field_name: str) -> list[Span]:
    match expr:
        case Term():
            return find_term(folded[field_name], expr.pattern, wildcard=expr.wildcard)
        case Or(parts):
            return [span for p in parts for span in _slow_operand(p, folded, field_name)]
        case Scoped(name, part):
            return _slow_operand(part, folded, field_name) if name == field_name else []
        case _:
            raise AssertionError("the parser lets only terms and OR groups of terms be NEAR sides")
