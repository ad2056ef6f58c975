"""Keyword rules: the match language (:mod:`.language`) and the compiled matcher (:mod:`.compile`)."""

from service.matching.compile import Matcher, RuleMatch, TermHit, compile_rules, evaluate_slow
from service.matching.language import Expr, expression_terms, parse_expression

__all__ = [
    "Expr",
    "Matcher",
    "RuleMatch",
    "TermHit",
    "compile_rules",
    "evaluate_slow",
    "expression_terms",
    "parse_expression",
]
