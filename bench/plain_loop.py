"""What a user would write instead of rivalwatch: the poll round's point of comparison.

``python -m bench.plain_loop URLS_FILE DB_FILE``: for every URL (one per line), ``httpx.get``,
``feedparser.parse``, ``INSERT OR IGNORE`` of each entry into a stdlib ``sqlite3`` table and one
regular expression (the shipped rules' subjects) over its title and summary; one commit per
feed. Prints one JSON line: feeds, entries, matched entries.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys

import feedparser
import httpx

WATCHED = re.compile(
    r"\b(nissan|byd|tesla|geely|chery|saic|great wall|xpeng|nio|li auto|"
    r"new[- ]energy vehicles?|nev|electric vehicles?|car exports?)\b",
    re.IGNORECASE,
)


def main(urls_file: str, db_file: str) -> int:
    with open(urls_file, encoding="utf-8") as listed:
        urls = [line.strip() for line in listed if line.strip()]
    db = sqlite3.connect(db_file)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS items"
        " (id TEXT PRIMARY KEY, link TEXT, title TEXT, summary TEXT, published TEXT)"
    )
    entries = matched = 0
    for url in urls:
        body = httpx.get(url, timeout=30).content
        parsed = feedparser.parse(body)
        for entry in parsed.entries:
            title, summary = entry.get("title", ""), entry.get("summary", "")
            key = entry.get("id") or entry.get("link") or title
            row = (key, entry.get("link"), title, summary, entry.get("published"))
            db.execute("INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?)", row)
            entries += 1
            matched += WATCHED.search(f"{title} {summary}") is not None
        db.commit()
    print(json.dumps({"feeds": len(urls), "entries": entries, "matched": matched}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
