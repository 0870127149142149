"""Read one element of a rendered page by its data-testid, so a test asserts what that panel, card or
row itself says rather than text found anywhere on the page."""

from __future__ import annotations

import html as html_lib
import re


def elements(page: str, testid: str) -> list[str]:
    """The inner HTML of every element carrying data-testid="testid", in page order."""
    found = []
    for start in re.finditer(rf'<(\w+)\b[^>]*\bdata-testid="{re.escape(testid)}"[^>]*>', page):
        tag, depth = start.group(1), 1
        # Count the same tag opening and closing inside it, so nested ones do not end it early.
        for mark in re.finditer(rf"<(/?){tag}\b[^>]*>", page[start.end():]):
            depth += -1 if mark.group(1) else 1
            if depth == 0:
                found.append(page[start.end():start.end() + mark.start()])
                break
        else:
            raise AssertionError(f"<{tag} data-testid={testid!r}> is never closed")
    return found


def element(page: str, testid: str) -> str:
    """The inner HTML of the one element carrying data-testid="testid"."""
    [inner] = elements(page, testid)
    return inner


def text(fragment: str) -> str:
    """What a reader sees: tags stripped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def definitions(fragment: str) -> dict[str, str]:
    """A <dl>'s entries as {term: description}, each as text."""
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", fragment, flags=re.S)
    return {text(term): text(description) for term, description in pairs}
