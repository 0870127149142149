"""The words staff read: every page of the demo, as its owner and as its viewer, is scanned for what staff
should never see: raw ids and field names, library messages, Python's None/True/False, and the words the
glossary (README, "Words we use") replaced.

A promotion id ("offer_12") is how the till and the events API name a promotion, so it may appear, but only
as `<code>` beside its label, never as a name.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.demo_pages import ACTIONS, DEMO_MAIL, PAGES, SIGNED_OUT_PAGES, clinic_route_names, page_urls, seed_demo

# What never reaches a page, each with what it would mean.
FORBIDDEN = [
    (re.compile(r"\b(?:offer|automated|promo|card|template)_\d+\b"), "a raw promotion key"),
    (re.compile(r"(?<!\{)\b[a-z]+_[a-z_]+\b(?!\})"), "a field or choice name"),  # a {placeholder} is fine
    (re.compile(r"\b(?:None|True|False|nan|null|undefined)\b"), "a program value"),
    (re.compile(r"\bEnter a valid\b|\bUUID\b|\bIANA\b|\bobject \(\d+\)|<QuerySet|Traceback"), "a library message"),
    (re.compile(r"\b(?:clients?|customers?)\b", re.IGNORECASE), "not the glossary's word (patients)"),
    (re.compile(r"\bSource id\b|\bClient Profiles?\b|\bWith a reward\b"), "a retired label"),
    (re.compile(r"\bThe 1 most\b|\b1 (?:patients|offers|promos|orders|pushes|results)\b"), "a wrong plural"),
]
# Attributes whose text a person reads or hears.
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm-title", "data-confirm-keeps",
                   "data-confirm-alternative", "data-confirm-action"}


class _Text(HTMLParser):
    """The text a person reads on a page: element text outside scripts and styles, and the read attributes."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template", "code"):
            self._skip += 1
        self.parts += [value for name, value in attrs if name in READ_ATTRIBUTES and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def read_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


def problems_on(path: str, html: str) -> list[str]:
    found = []
    for text in read_text(html):
        for pattern, meaning in FORBIDDEN:
            if match := pattern.search(text):
                found.append(f"{path}: {meaning}: {match.group(0)!r} in {text[:100]!r}")
    return found


def test_every_dashboard_route_is_a_page_or_an_action():
    routes = clinic_route_names()

    assert routes - set(PAGES) - set(ACTIONS) == set(), "a new route needs a place in tests/demo_pages.py"
    assert set(PAGES) & set(ACTIONS) == set()
    assert (set(PAGES) | set(ACTIONS)) - routes == set(), "a listed route no longer exists"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_no_demo_page_shows_a_raw_id_field_name_or_library_message(role, client, django_user_model):
    clinic = seed_demo()
    client.force_login(django_user_model.objects.get(email=f"{role}@{DEMO_MAIL}"))

    problems = []
    for name, path in page_urls(clinic):
        response = client.get(path)
        if response.status_code == 403 and role == "viewer":
            continue
        assert response.status_code == 200, f"{name} ({path}) answered {response.status_code}"
        problems += problems_on(path, response.content.decode())

    assert not problems, f"{len(problems)} problems:\n" + "\n".join(sorted(set(problems)))


@pytest.mark.django_db
def test_the_signed_out_pages_speak_plainly(client):
    problems = []
    for name in SIGNED_OUT_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 200
        problems += problems_on(reverse(name), response.content.decode())

    assert not problems, "\n".join(problems)


def test_the_scan_finds_what_it_looks_for():
    page = ('<p>Promotion offer_12</p><td>None</td><input placeholder="Enter a valid UUID">'
            '<p>due_date</p><p>3 customers</p><script>var a_b = null;</script>')

    found = " ".join(problems_on("/x/", page))

    for meaning in ("a raw promotion key", "a program value", "a library message", "a field or choice name",
                    "not the glossary's word"):
        assert meaning in found
    assert "a_b" not in found  # scripts are not read
    assert problems_on("/x/", "<dd>Promotion id <code>offer_12</code></dd>") == []  # an id shown as an id
