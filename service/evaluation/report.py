"""`rules eval`: labels + the replayed pipeline → per-theme scores, every disagreement, every figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import RivalwatchError
from service.evaluation.labels import Label, load_labels
from service.evaluation.replay import Replay, replay
from service.evaluation.score import Disagreement, Report, RuleOutcome, score, theme_rules_for


@dataclass(frozen=True, slots=True)
class Evaluation:
    report: Report
    replay: Replay
    theme_rules: Mapping[str, str]


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``THEME=RULE`` options as a mapping; a malformed one is an error naming it."""
    overrides = {}
    for pair in pairs:
        theme, sep, rule = pair.partition("=")
        if not sep or not theme.strip() or not rule.strip():
            raise RivalwatchError(f"--rule expects THEME=RULE, not {pair!r}")
        overrides[theme.strip()] = rule.strip()
    return overrides


def themes_of(labels: Sequence[Label]) -> list[str]:
    """Every theme the labels judge, in the order they first appear (by name within an entry)."""
    seen: dict[str, None] = {}
    for label in labels:
        for judged in (label.must, label.never, label.unsure):
            seen.update(dict.fromkeys(sorted(judged)))
    return list(seen)


def evaluate(
    labels_file: Path,
    *,
    feeds_dir: Path,
    settings: Settings,
    overrides: Mapping[str, str],
    max_age_s: int | None = None,
) -> Evaluation:
    if not feeds_dir.is_dir():
        raise RivalwatchError(f"feeds directory {feeds_dir} does not exist")
    labels = load_labels(labels_file)
    ran = replay(labels, feeds_dir=feeds_dir, settings=settings, max_age_s=max_age_s)
    mapping, problems = theme_rules_for(themes_of(labels), ran.rule_ids, overrides)
    if problems:
        raise RivalwatchError("; ".join(problems))
    return Evaluation(score(ran.results, mapping), ran, mapping)


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def to_text(evaluation: Evaluation) -> str:
    report, ran = evaluation.report, evaluation.replay
    found = sum(1 for r in ran.results if r.found)
    lines = [
        f"{found} labelled items found in {len({r.label.feed_file for r in ran.results})} feed files "
        f"({ran.items} items stored and judged)",
        "",
        f"{'theme':<14} {'rule':<14} {'must':>5} {'never':>6} {'alerts':>7} {'false':>6} "
        f"{'missed':>7} {'precision':>10} {'recall':>7}",
    ]
    for t in report.themes:
        lines.append(
            f"{t.theme:<14} {t.rule:<14} {t.must:>5} {t.never:>6} {t.true_alerts + t.false_alarms:>7} "
            f"{t.false_alarms:>6} {t.missed:>7} {_ratio(t.precision):>10} {_ratio(t.recall):>7}"
        )
    lines += _section("Missed (labelled must, no live alert)", report.misses)
    lines += _section("False alarms (labelled never, alerted)", report.false_alarms)
    lines += ["", f"Changed figures reported ({len(ran.figures)})"]
    lines += [f"  [{f.rule}] {f.title}\n      {f.figure.display}  — {f.figure.evidence}" for f in ran.figures]
    if report.not_found:
        lines += ["", f"Labelled items not found in their feed file ({len(report.not_found)})"]
        lines += [f"  {label.feed_file}: {label.guid_or_link or label.title}" for label in report.not_found]
    if ran.unreadable:
        lines += ["", "Feed files that could not be read"] + [f"  {u}" for u in ran.unreadable]
    return "\n".join(lines)


def _section(heading: str, rows: Sequence[Disagreement]) -> list[str]:
    out = ["", f"{heading} ({len(rows)})"]
    for d in rows:
        out.append(f"  [{d.theme}] {d.title}")
        out.append(f"      {d.verdict}: {d.reason}" if d.reason else f"      {d.verdict}")
    return out


def to_json(evaluation: Evaluation) -> dict[str, Any]:
    report, ran = evaluation.report, evaluation.replay
    return {
        "themes": [
            {
                "theme": t.theme,
                "rule": t.rule,
                "must": t.must,
                "never": t.never,
                "unsure": t.unsure,
                "true_alerts": t.true_alerts,
                "false_alarms": t.false_alarms,
                "missed": t.missed,
                "precision": t.precision,
                "recall": t.recall,
            }
            for t in report.themes
        ],
        "misses": [_disagreement_json(d) for d in report.misses],
        "false_alarms": [_disagreement_json(d) for d in report.false_alarms],
        "fact_changes": [
            {
                "rule": f.rule,
                "title": f.title,
                "feed_file": f.feed_file,
                "display": f.figure.display,
                "evidence": f.figure.evidence,
            }
            for f in ran.figures
        ],
        "not_found": [
            {"feed_file": label.feed_file, "guid_or_link": label.guid_or_link, "title": label.title}
            for label in report.not_found
        ],
        "items": [
            {
                "feed_file": r.label.feed_file,
                "guid_or_link": r.label.guid_or_link,
                "title": r.label.title,
                "found": r.found,
                "leads_story": r.leads_story,
                "outcomes": {rule: _outcome_json(o) for rule, o in r.outcomes.items()},
            }
            for r in ran.results
        ],
        "unreadable": list(ran.unreadable),
        "items_judged": ran.items,
    }


def _disagreement_json(d: Disagreement) -> dict[str, str]:
    return {
        "theme": d.theme,
        "rule": d.rule,
        "title": d.title,
        "feed_file": d.feed_file,
        "verdict": d.verdict,
        "reason": d.reason,
        "label_reason": d.label_reason,
    }


def _outcome_json(outcome: RuleOutcome) -> dict[str, Any]:
    return {
        "status": outcome.status,
        "novelty": outcome.novelty,
        "reason": outcome.reason,
        "matched": list(outcome.matched),
        "new_terms": list(outcome.new_terms),
        "fact_changes": [{"display": f.display, "evidence": f.evidence} for f in outcome.figures],
    }
