"""`rivalwatch rules validate` and `rules test` as an analyst runs them: the real console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.httpserver import LoopbackHTTPServer
from tests.support.processes import rivalwatch, service_env
from tests.support.service import rss_items, write_feeds

XPENG_RULE = """\
# yaml-language-server: $schema=rules.schema.json
rules:
  - id: xpeng
    name: Xpeng
    match: Xpeng or "He Xiaopeng"
"""
MISSED = "Xpeng opens first store in Indonesia"


def rules_dir(tmp_path: Path, rule: str = XPENG_RULE) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "x.yaml").write_text(rule, encoding="utf-8")
    return rules


def env_for(tmp_path: Path, rules: Path) -> dict[str, str]:
    return service_env(f"sqlite:///{tmp_path}/unused.db", rules)


def test_a_rule_written_with_lower_case_or_gets_a_warning_from_validate(tmp_path: Path) -> None:
    rules = rules_dir(tmp_path)
    done = rivalwatch("rules", "validate", str(rules), env=env_for(tmp_path, rules))
    assert done.returncode == 0, done.stderr  # a warning does not fail the check
    assert done.stdout.splitlines() == [
        f'{rules}/x.yaml:3: warning: match: column 7: "or" between terms is the word or; did you mean OR?',
        "ok, 1 warning: 0 feeds, 1 rules, 0 aliases, 0 baselines",
    ]


def test_validate_reports_problems_and_warnings_and_fails_only_for_problems(tmp_path: Path) -> None:
    rules = rules_dir(tmp_path, XPENG_RULE + "  - {id: broken, name: Broken, match: 'byd AND'}\n")
    done = rivalwatch("rules", "validate", str(rules), env=env_for(tmp_path, rules))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{rules}/x.yaml:6: rules[1].match: column 5: 'AND' needs a term after it",
        f'{rules}/x.yaml:3: warning: match: column 7: "or" between terms is the word or; did you mean OR?',
    ]
    assert "1 problems, 1 warning (" in done.stderr


def test_rules_test_on_a_text_the_rule_misses_shows_the_expression_and_the_missing_terms(
    tmp_path: Path,
) -> None:
    rules = rules_dir(tmp_path)
    done = rivalwatch("rules", "test", "xpeng", "--text", MISSED, env=env_for(tmp_path, rules))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        'rule xpeng: (Xpeng AND "or" AND "He Xiaopeng")',
        f"== {MISSED}",
        "   no rule matched",
        '   xpeng: no match; found: Xpeng; missing: "or", "He Xiaopeng"',
    ]
    assert "rule_warning" in done.stderr and "did you mean OR?" in done.stderr  # logged on load


def test_rules_test_json_adds_the_expression_and_the_terms_found_and_missing(tmp_path: Path) -> None:
    rules = rules_dir(tmp_path)
    env = env_for(tmp_path, rules)
    done = rivalwatch("rules", "test", "xpeng", "--title", MISSED, "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {
            "title": MISSED,
            "url": None,
            "published_at": None,
            "matches": [],
            "unmatched": [
                {
                    "rule": "xpeng",
                    "expression": '(Xpeng AND "or" AND "He Xiaopeng")',
                    "found": ["Xpeng"],
                    "missing": ['"or"', '"He Xiaopeng"'],
                }
            ],
        }
    ]


def test_rules_test_on_a_file_shows_the_expression_of_a_rule_that_matches(tmp_path: Path) -> None:
    rules = rules_dir(tmp_path, XPENG_RULE.replace(" or ", " OR "))
    page = tmp_path / "item.txt"
    page.write_text(f"{MISSED}\nHe Xiaopeng cut the ribbon in Jakarta.\n", encoding="utf-8")
    env = env_for(tmp_path, rules)
    text = rivalwatch("rules", "test", "xpeng", "--file", str(page), env=env)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == 'rule xpeng: (Xpeng OR "He Xiaopeng")'
    assert "no match" not in text.stdout and "rule_warning" not in text.stderr
    [item] = json.loads(rivalwatch("rules", "test", "xpeng", "--file", str(page), "--json", env=env).stdout)
    [match] = item["matches"]
    assert (match["rule"], match["expression"], item["unmatched"]) == (
        "xpeng",
        '(Xpeng OR "He Xiaopeng")',
        [],
    )


def test_rules_test_takes_the_rules_directory_it_is_given(tmp_path: Path) -> None:
    rules = rules_dir(tmp_path, XPENG_RULE.replace("Xpeng or", "Xpeng OR"))
    elsewhere = service_env(f"sqlite:///{tmp_path}/unused.db", tmp_path / "no-such-dir")
    done = rivalwatch("rules", "test", "xpeng", "--rules-dir", str(rules), "--text", MISSED, env=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "xpeng" in done.stdout and "unknown or disabled rules" not in done.stderr
    validated = rivalwatch("rules", "validate", "--rules-dir", str(rules), env=elsewhere)
    assert validated.returncode == 0 and validated.stdout.startswith("ok: 0 feeds, 1 rules")


HYUNDAI_RULE = """\
rules:
  - id: hyundai
    name: Hyundai
    match: Hyundai
    notify: [slack:hyundai, digest]
"""


def test_validate_says_which_channel_a_rule_names_has_no_settings(tmp_path: Path) -> None:
    rules = rules_dir(tmp_path, HYUNDAI_RULE)
    env = env_for(tmp_path, rules) | {"RIVALWATCH_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook"}
    done = rivalwatch("rules", "validate", env=env)
    assert done.returncode == 1
    missing = "no webhook named 'hyundai' in RIVALWATCH_SLACK_WEBHOOKS"
    assert f"{rules / 'x.yaml'}:2: notify: slack:hyundai: {missing}" in done.stdout
    assert "notify: digest: RIVALWATCH_SMTP_HOST is not set" in done.stdout


def test_with_no_channel_configured_an_unknown_target_is_only_a_warning(tmp_path: Path) -> None:
    rules = rules_dir(tmp_path, HYUNDAI_RULE)
    done = rivalwatch("rules", "validate", env=env_for(tmp_path, rules))
    assert done.returncode == 0, done.stdout
    assert "warning: notify: slack:hyundai: no webhook named 'hyundai'" in done.stdout


def test_an_alert_whose_channel_is_not_configured_says_where_it_could_not_go(
    tmp_path: Path, db_url: str
) -> None:
    with LoopbackHTTPServer() as feed:
        feed.route(
            "/f.xml", body=rss_items(("Hyundai opens a plant in Indonesia", "https://news.example/h1", ""))
        )
        rules = rules_dir(tmp_path, HYUNDAI_RULE)
        write_feeds(rules, [("wire", feed.url("/f.xml"))], file="feeds.yaml")
        env = service_env(db_url, rules, RIVALWATCH_SLACK_WEBHOOK_URL="http://127.0.0.1:9/hook")
        assert rivalwatch("db", "upgrade", env=env).returncode == 0
        polled = rivalwatch("poll", "--once", env=env)
    assert polled.returncode == 0, polled.stderr
    assert "channel_not_configured" in polled.stderr and "slack:hyundai" in polled.stderr
    (alert,) = json.loads(rivalwatch("alerts", "list", "--json", env=env).stdout)
    shown = rivalwatch("alerts", "show", str(alert["id"]), env=env)
    assert (
        "could not go to slack:hyundai: no webhook named 'hyundai' in RIVALWATCH_SLACK_WEBHOOKS"
        in shown.stdout
    )
    assert "could not go to digest: RIVALWATCH_SMTP_HOST is not set" in shown.stdout
