"""``python -m bench [--quick] [--only NAME ...]``: run the suites, print tables, write JSON.

Suites: ``ingest`` (real corpus), ``synthetic`` (seeded synthetic corpus, same three rows),
``polling`` (CPU per poll), ``memory`` (peak RSS), ``matcher`` (keyword matching items/s) and ``delivery``
(fetch-to-Slack latency, a burst of 50 matches) and ``cli`` (a command's wall time from the
shell, start-up included). Results go to
``bench/results/ingest-<UTC timestamp>.json`` with the machine's details.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import machine_info
from bench.corpus import PROJECT_ROOT, CorpusMissingError, load_real_corpus, synthetic_corpus

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SUITES = ("ingest", "synthetic", "polling", "round", "fleet", "memory", "matcher", "delivery", "cli")
SYNTHETIC = {"quick": (60, 30), "full": (200, 40)}
"""(feeds, items per feed) of the synthetic corpus."""
SYNTHETIC_SEED = 20240601


def _ingest(quick: bool) -> tuple[dict[str, Any], str]:
    from bench import ingest

    result = ingest.run_suite(load_real_corpus(), label="real corpus ../shared/feeds/real", quick=quick)
    return result, ingest.render(result)


def _synthetic(quick: bool) -> tuple[dict[str, Any], str]:
    from bench import ingest

    feeds, items = SYNTHETIC["quick" if quick else "full"]
    docs = synthetic_corpus(feeds=feeds, items=items, seed=SYNTHETIC_SEED)
    label = f"synthetic: {feeds} feeds x {items} items, seed {SYNTHETIC_SEED}"
    result = ingest.run_suite(docs, label=label, quick=quick)
    result["seed"] = SYNTHETIC_SEED
    result["defects"] = {d.name: d.defect for d in docs if d.malformed}
    return result, ingest.render(result)


def _polling(quick: bool) -> tuple[dict[str, Any], str]:
    from bench import polling

    load_real_corpus()  # fail early with the clear message; the server process reads it itself
    result = polling.run_suite(quick=quick)
    return result, polling.render(result)


def _round(quick: bool) -> tuple[dict[str, Any], str]:
    from bench import round as poll_round

    load_real_corpus()
    result = poll_round.run_suite(quick=quick)
    return result, poll_round.render(result)


def _fleet(quick: bool) -> tuple[dict[str, Any], str]:
    from bench import fleet

    result = fleet.run_suite(quick=quick)
    return result, fleet.render(result)


def _memory(quick: bool) -> tuple[dict[str, Any], str]:
    from bench import memory

    result = memory.run_suite(quick=quick)
    return result, memory.render(result)


def _matcher(quick: bool) -> tuple[dict[str, Any], str]:
    from bench import matcher

    result = matcher.run_suite(quick=quick)
    return result, matcher.render(result)


def _delivery(quick: bool) -> tuple[dict[str, Any], str]:
    from bench import delivery

    result = delivery.run_suite(quick=quick)
    return result, delivery.render(result)


def _cli(quick: bool) -> tuple[dict[str, Any], str]:
    from bench import cli

    result = cli.run_suite(quick=quick)
    return result, cli.render(result)


RUNNERS: dict[str, Callable[[bool], tuple[dict[str, Any], str]]] = {
    "ingest": _ingest,
    "synthetic": _synthetic,
    "polling": _polling,
    "round": _round,
    "fleet": _fleet,
    "memory": _memory,
    "matcher": _matcher,
    "delivery": _delivery,
    "cli": _cli,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke run (~1 minute)")
    parser.add_argument(
        "--only",
        action="append",
        choices=SUITES,
        metavar="NAME",
        help=f"run only this suite (repeatable): {', '.join(SUITES)}",
    )
    parser.add_argument("--no-json", action="store_true", help="print the tables only")
    opts = parser.parse_args(argv)
    selected = [s for s in SUITES if not opts.only or s in opts.only]

    os.chdir(PROJECT_ROOT)  # the feed server and memory children import bench/ and tests/ from here
    logging.basicConfig(level=logging.ERROR)  # keep the service's warnings from interleaving tables
    try:
        load_real_corpus()
    except CorpusMissingError as exc:
        if any(s in selected for s in ("ingest", "polling", "round", "matcher")):
            print(f"bench: {exc}", file=sys.stderr)
            return 2

    started = datetime.now(UTC)
    info = machine_info()
    mode = "quick" if opts.quick else "full"
    print(
        f"rivalwatch bench ({mode}): {info['cpu_model']}, {info['cores_usable']} usable cores, "
        f"Python {info['python']}, lxml {info['lxml']} (libxml2 {info['libxml2']}), "
        f"feedparser {info['feedparser']}, SQLAlchemy {info['sqlalchemy']}, SQLite {info['sqlite']}"
    )
    load = info["load_average_at_start"]
    if load and info["cores_usable"] and load[0] > 0.5 * info["cores_usable"]:
        print(
            f"note: load average {load[0]:.2f} at start; other work on this machine moves the absolute "
            "figures (ratios within one run are steadier)"
        )
    print()

    results: dict[str, Any] = {}
    for name in selected:
        t0 = time.perf_counter()
        data, text = RUNNERS[name](opts.quick)
        data["suite_wall_s"] = time.perf_counter() - t0
        results[name] = data
        print(text)
        print(f"({name}: {data['suite_wall_s']:.1f} s)\n")

    info["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    if load and info["load_average_at_end"]:
        print(
            f"load average (1 min) {load[0]:.2f} at start, {info['load_average_at_end'][0]:.2f} at end "
            f"on {info['cores_usable']} cores; a large 'spread %' means the machine was busy"
        )
    document = {
        "mode": mode,
        "suites": selected,
        "started": started.isoformat(timespec="seconds"),
        "machine": info,
        "results": results,
    }
    if not opts.no_json:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"ingest-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        print(f"results written to {path.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
