#!/usr/bin/env python3
"""How the word diff's cost grows with the text, up to the body limit, and the compare page there.

Two edits of a text of n words, from 1,000 words to the body limit:
- "edited": 1 word in 200 changed, as an author's revision touches a text;
- "rewritten": a different text of the same length (the worst case: the time budget bites).
Beside each, the floor: splitting both texts into paragraphs and words, which any word diff
must do. The cases are timed interleaved in rounds (median of the rounds), so every figure
sees the same machine. Then the workspace's compare page for two versions at the body limit,
end to end through Django (SQLite in a temporary folder).

    .venv/bin/python -m bench.diff [--rounds 3]
"""

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

WORDS = re.compile(r"\s+|[^\s]+")


def text(words: int, seed: int) -> str:
    """A text of ``words`` words in paragraphs of about 80, from a fixed vocabulary."""
    rng = random.Random(seed)
    vocabulary = [f"word{n}" for n in range(5000)] + ["mg", "daily", "the", "of", "[1]", "[2]"]
    chosen = [rng.choice(vocabulary) for _ in range(words)]
    return "\n\n".join(" ".join(chosen[i : i + 80]) for i in range(0, words, 80))


def edited(source: str, seed: int) -> str:
    rng = random.Random(seed)
    words = source.split(" ")
    for _ in range(max(1, len(words) // 200)):
        words[rng.randrange(len(words))] = "CHANGED"
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="editorial-bench-diff-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    from bench.common import print_machine, setup

    setup()
    from articles import content
    from articles.diff import _PARAGRAPHS, DIFF_SECONDS, diff_words

    print_machine({"diff budget per field": f"{DIFF_SECONDS} s", "body limit": f"{content.BODY_LIMIT:,} characters"})
    limit_words = 1
    while len(text(limit_words * 2, 1)) <= content.BODY_LIMIT:
        limit_words *= 2
    sizes = [1000 * 2**k for k in range(10) if 1000 * 2**k < limit_words]
    at_limit = len(text(limit_words, 1).split(" "))
    while len(text(at_limit + 1000, 1)) <= content.BODY_LIMIT:
        at_limit += 1000
    sizes.append(at_limit)
    cases = {n: (text(n, 1), edited(text(n, 1), 2), text(n, 3)) for n in sizes}
    timings = {(n, kind): [] for n in sizes for kind in ("floor", "edited", "rewritten")}
    for _ in range(args.rounds):
        for n, (old, new, other) in cases.items():
            started = time.process_time()
            for piece in (old, new):
                for paragraph in _PARAGRAPHS.findall(piece):
                    WORDS.findall(paragraph)
            timings[(n, "floor")].append(time.process_time() - started)
            for kind, target in (("edited", new), ("rewritten", other)):
                started = time.process_time()
                result = diff_words(old, target)
                timings[(n, kind)].append(time.process_time() - started)
                timings.setdefault((n, kind, "coarse"), []).append(result.coarse)

    print(f"Word diff, CPU seconds (median of {args.rounds} interleaved rounds)")
    print(f"  {'words':>8}  {'characters':>10}  {'floor':>8}  {'edited':>8}  {'per 1k':>7}  {'rewritten':>9}  coarse")
    for n in sizes:
        floor, edit, rewrite = (statistics.median(timings[(n, kind)]) for kind in ("floor", "edited", "rewritten"))
        coarse = "yes" if any(timings[(n, "rewritten", "coarse")]) else "no"
        characters = len(cases[n][0])
        per_thousand = edit / n * 1000
        figures = f"{floor:>8.3f}  {edit:>8.3f}  {per_thousand:>7.4f}  {rewrite:>9.3f}"
        print(f"  {n:>8,}  {characters:>10,}  {figures}  {coarse}")
    print()
    compare_page(cases[sizes[-1]])


def compare_page(case) -> None:
    """The compare page for two versions at the body limit, through the whole Django stack."""
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from editorial.workflow import services
    from editorial.workflow.permissions import Role
    from tests.factories import UserFactory

    setup_test_environment()
    call_command("migrate", verbosity=0)
    old, new, other = case
    author = UserFactory(username="bench-author", roles=[Role.AUTHOR])
    client = Client()
    client.force_login(author)
    for label, revised in (("edited", new), ("rewritten", other)):
        fields = {"title": f"A long review ({label})?", "body": old, "patient_body": old}
        article = services.article_create(actor=author, fields=fields)
        article = services.article_update(
            article=article,
            actor=author,
            fields={"body": revised, "patient_body": revised},
            expected_row_version=article.row_version,
        )
        rows = list(article.history.order_by("history_date").values_list("history_id", flat=True))
        url = reverse("admin:articles_article_compare", args=[article.pk]) + f"?a={rows[0]}&b={rows[-1]}"
        seconds = []
        for _ in range(5):
            started = time.perf_counter()
            response = client.get(url)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
        print(f"Compare page, {label}: two texts of {len(revised):,} characters each (wall seconds, 5 requests)")
        median, worst = statistics.median(seconds), max(seconds)
        print(f"  median {median:.2f}  max {worst:.2f}  ({len(response.content):,} bytes of HTML)")
    print(f"  load average now: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
