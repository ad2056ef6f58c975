"""Baselines: what the team already knows, and how new an item is against it.

The flow for an item a rule matched: ``judge_novelty`` (how much is new, which names are new)
and ``find_fact_changes`` (which known figures it contradicts), both pure. Baselines are read
from ``rules/baselines/*.yaml`` by ``load_baselines``; ``draft_baseline`` turns a fetched article
into a draft file for an analyst to review.
"""

from service.baselines.draft import BaselineDraft, DraftFact, draft_baseline
from service.baselines.facts import FactChange, find_fact_changes
from service.baselines.model import Baseline, BaselineSet, Fact, Source, load_baselines, load_baselines_strict
from service.baselines.novelty import BaselineProfile, Novelty, compile_baseline, judge_novelty
from service.baselines.numbers import Number, find_numbers

__all__ = [
    "Baseline",
    "BaselineDraft",
    "BaselineProfile",
    "BaselineSet",
    "DraftFact",
    "Fact",
    "FactChange",
    "Novelty",
    "Number",
    "Source",
    "compile_baseline",
    "draft_baseline",
    "find_fact_changes",
    "find_numbers",
    "judge_novelty",
    "load_baselines",
    "load_baselines_strict",
]
