"""Every URL the site routes, as every role, with hostile parameters: never a 5xx.

The URL patterns are read from the resolver (workspace, API, public pages), so a new page is
swept the day it is added. Each is requested with its ids replaced by real, missing, huge and
non-numeric ones, then with hostile query parameters (NUL, numbers past 64 bits, impossible
dates, unknown formats), and posted hostile form data. Runs on PostgreSQL, where a NUL or an
out-of-range number reaches the database as an error instead of being stored.
"""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="the sweep runs on the PostgreSQL run, where bad values reach the database as errors",
    ),
]

HUGE = "99999999999999999999"
ID_VALUES = ["1", HUGE, "abc", "0"]
VALUES = {
    "name": ["approve", "nope"],
    "slug": ["how-is-condition-x-treated", "nope"],
    "format": ["json", "xml"],
    "app_label": ["articles"],
}
QUERIES = [
    "a=%00",
    "q=%00",
    "status__exact=%00",
    "p=" + HUGE,
    "o=" + HUGE,
    "q=" + "x" * 3000,
    "days=1000000",
    "from=2024-02-30&to=9999-12-31",
    "article=" + HUGE,
    "notification=" + HUGE,
    "page=abc",
    "format=xml",
    "a=" + HUGE + "&b=1",
    "id__gt=" + HUGE,
    "status__exact=approved&author=" + HUGE,
    "reviewer=" + "y" * 500,
    "e=1",
]
FORM = {
    "reason": "x" * 10,
    "row_version": HUGE,
    "reviewer": HUGE,
    "respond_by": "2030-02-30",
    "due_at": "9999-12-31",
    "notification": HUGE,
    "password": "pw",
    "recommendation": "approve",
    "conflict": "declared",
    "action": "nope",
    "_selected_action": HUGE,
    "transition": "approve",
}


def patterns(resolver=None, prefix=""):
    """(path template, pattern) for every URL the resolver knows, with prefixes joined."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        text = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from patterns(entry, prefix + text)
        elif isinstance(entry, URLPattern):
            yield prefix + text


PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)|\((?!\?)[^()]*\)")


def concrete(template: str, choose) -> str:
    path = PARAMETER.sub(lambda m: choose(m.group(1) or m.group(2) or "id"), template)
    path = path.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/").replace("\\Z", "")
    return "/" + path.lstrip("/")


def paths() -> list[str]:
    found = set()
    for template in patterns():
        names = [m.group(1) or m.group(2) or "id" for m in PARAMETER.finditer(template)]
        id_names = [name for name in names if name not in VALUES]
        for id_value in ID_VALUES if id_names else [None]:
            choose = lambda name, v=id_value: VALUES.get(name, [v or "1"])[0]  # noqa: E731
            found.add(concrete(template, choose))
        for name in names:
            for value in VALUES.get(name, [])[1:]:
                found.add(
                    concrete(
                        template, lambda n, name=name, value=value: value if n == name else VALUES.get(n, ["1"])[0]
                    )
                )
    return sorted(found)


@pytest.fixture
def people(author, board_member, editor, auditor, superuser, reviewers, in_state):
    for status in ("submitted", "under_review", "approved", "changes_requested"):
        in_state(status)
    return {"author": author, "board": reviewers[0], "editor": editor, "auditor": auditor, "superuser": superuser}


def sweep(client: Client, requests) -> list[str]:
    failures = []
    for method, path in requests:
        response = client.get(path) if method == "GET" else client.post(path, FORM)
        if response.status_code >= 500:
            failures.append(f"{method} {path[:120]} -> {response.status_code}")
    return failures


def test_the_sweep_covers_the_whole_site():
    swept = paths()
    assert len(swept) > 150
    for must in ("/admin/articles/article/1/transition/approve/", "/api/v1/articles/1/transitions/", "/healthz"):
        assert must in swept


@pytest.mark.parametrize("role", ["anonymous", "author", "board", "editor", "auditor", "superuser"])
def test_no_url_answers_5xx_to_any_role(people, role):
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(people[role])
    requests = [("GET", path) for path in paths()]
    if role in ("author", "editor", "auditor"):
        plain = [path for path in paths() if HUGE not in path and "abc" not in path]
        requests += [("GET", f"{path}?{query}") for path in plain for query in QUERIES]
    requests += [("POST", path) for path in paths() if "logout" not in path]
    assert sweep(client, requests) == []
