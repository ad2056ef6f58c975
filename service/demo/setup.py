"""Where the demo runs: a directory of its own with a copy of the rules (their feeds replaced by
the sample feeds) and settings that can reach nothing but the loopback feed server.

The copy keeps every rule, alias and baseline of the rules directory; only ``feeds:``
declarations are left out, so the demo never polls the real feeds. The settings ignore every
channel the environment configures (Slack, webhooks, email, the digest): with none, alerts go
to the terminal (the console channel), and the demo sends nothing anywhere.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import yaml

from service.config import Settings, load_settings
from service.rulebook import BASELINES_DIR

DEMO_FEEDS_FILE = "demo-feeds.yaml"


def copy_rules(source: Path, target: Path, feed_urls: Mapping[str, str]) -> Path:
    """``source`` copied to ``target`` without its feeds, plus the demo feeds; returns ``target``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    for path in sorted(target.rglob("*.y*ml")):
        if BASELINES_DIR in path.relative_to(target).parts:
            continue
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and "feeds" in document:
            del document["feeds"]
            if document:
                path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
            else:
                path.unlink()
    declared = {"feeds": [{"name": name, "url": url, "interval": "1m"} for name, url in feed_urls.items()]}
    (target / DEMO_FEEDS_FILE).write_text(yaml.safe_dump(declared, sort_keys=False), encoding="utf-8")
    return target


def demo_settings(directory: Path, rules_dir: Path, *, serve: bool) -> Settings:
    """Settings on the demo's own database and rules, with no channel but the console."""
    return load_settings(
        database_url=f"sqlite:///{directory / 'rivalwatch.db'}",
        rules_dir=rules_dir,
        config_file=None,
        slack_webhook_url=None,
        slack_webhooks={},
        webhooks={},
        alert_email_to="",
        smtp_host=None,
        digest_to="",
        fetch_allow_cidrs="127.0.0.1/32",
        fetch_per_host_concurrency=8,  # every sample feed is on the one loopback host
        poll_min_interval_s=60,
        poll_once_deliver_timeout_s=15,
        slack_min_interval_s=0,
        api_enabled=serve,
    )
