"""Sorting a dashboard list by one of its columns: "name" ascending, "-name" descending (the column headings'
links, `sort_header`). Empty values come last in either direction, so a blank never tops a list."""

from __future__ import annotations

from django.db.models import F


def valid_sort(sort: str, columns: dict[str, tuple[str, ...]], default: str) -> str:
    return sort if sort and sort.lstrip("-") in columns else default


def column_order(sort: str, columns: dict[str, tuple[str, ...]]) -> list:
    """The ORDER BY of a valid sort key: each of its column's fields, in the key's direction."""
    descending = sort.startswith("-")
    return [F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
            for field in columns[sort.lstrip("-")]]
