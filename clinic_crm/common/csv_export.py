"""CSV downloads of dashboard lists, streamed so memory stays flat however many rows a list has."""

from __future__ import annotations

import csv
from typing import Callable, Iterable

from django.http import StreamingHttpResponse
from django.utils import timezone

from clinic_crm.tenancy.context import clinic_scope


class _Echo:
    """A file whose write() returns the line, so csv.writer produces lines to stream."""

    def write(self, value):
        return value


def stream_csv(*, clinic, filename: str, rows: Callable[[], Iterable[list]]) -> StreamingHttpResponse:
    """A download of `rows()` (the heading first). The response streams after the view returns, so
    `rows` runs again in the clinic's scope and time zone, reading its queryset in chunks."""

    def lines():
        writer = csv.writer(_Echo())
        with clinic_scope(clinic.pk), timezone.override(clinic.tzinfo):
            for row in rows():
                yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
