"""`rivalwatch rules validate` and `rules test` as an analyst runs them: the real console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import rivalwatch, service_env

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
