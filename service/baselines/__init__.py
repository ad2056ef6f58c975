"""Baselines: what the team already knows, and how new an item is against it.

The flow for an item a rule matched: ``judge_novelty`` (how much is new, which names are new)
and ``find_fact_changes`` (which known figures it contradicts), both pure. Baselines are read
from ``rules/baselines/*.yaml`` by ``load_baselines``; ``draft_baseline`` turns a fetched article
into a draft file for an analyst to review.
"""
