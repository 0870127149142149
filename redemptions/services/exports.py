"""Exports of offer responses: definitions, and runs that stream rows to a file in bounded memory (RED-5).

A run reads the filtered responses in chunks by id (keyset pagination), each chunk in its own short
transaction in the clinic's scope, and writes them straight to the file: memory holds one chunk
whatever the size of the export, and the progress written after each chunk is visible to the
dashboard at once. The file is written under a temporary name and renamed when complete, so a
download never sees half a file.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from clinic_crm.common.errors import ApplicationError
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import Clinic
from redemptions.choices import ExportFormat, ExportSchedule, ExportStatus, ResponseStatus
from redemptions.models import ExportDefinition, ExportRun, OfferResponse
from redemptions.registry import kind_key_of, kind_label

CHUNK_SIZE = 5000


@dataclass(frozen=True)
class ExportField:
    label: str
    columns: tuple[str, ...]  # what it reads of a response (values_list names)
    value: Callable[..., object]  # the columns' values → the cell


def _moment(value: datetime | None, clinic: Clinic) -> str:
    return value.astimezone(clinic.tzinfo).isoformat(timespec="seconds") if value else ""


def _day(value: date | None, clinic: Clinic) -> str:
    return value.isoformat() if value else ""


def _plain(value, clinic: Clinic):
    return "" if value is None else value


FIELDS: dict[str, ExportField] = {
    "id": ExportField("Response id", ("id",), _plain),
    "offer_id": ExportField("Offer id", ("promotion_key",), _plain),
    "offer_name": ExportField("Offer", ("promotion_name",), _plain),
    "offer_type": ExportField("Type", ("promotion_key",), lambda key, clinic: kind_label(kind_key_of(key))),
    "title": ExportField("Title", ("title",), _plain),
    "discount": ExportField("Discount", ("discount_label",), _plain),
    "patient_id": ExportField("Patient id", ("patient_id",), _plain),
    "patient_name": ExportField("Patient", ("patient__first_name", "patient__last_name"),
                                lambda first, last, clinic: f"{first} {last}".strip()),
    "patient_email": ExportField("E-mail", ("patient__email",), _plain),
    "external_id": ExportField("External id", ("patient__external_id",), _plain),
    "certificate_code": ExportField("Certificate code", ("certificate_code",), _plain),
    "status": ExportField("Status", ("status",), _plain),
    "source": ExportField("Source", ("source",), _plain),
    "usage_from": ExportField("Usage from", ("usage_from",), _day),
    "usage_until": ExportField("Usage until", ("usage_until",), _day),
    "expires_at": ExportField("Expires", ("expires_at",), _moment),
    "created_at": ExportField("Created", ("created_at",), _moment),
    "status_changed_at": ExportField("Status changed", ("status_changed_at",), _moment),
}
FILTER_KEYS = ("status", "offer", "kind", "usage", "created_from", "created_to")


def exports_dir(clinic_id: int) -> Path:
    return Path(settings.EXPORTS_DIR) / str(clinic_id)


def _check(definition: ExportDefinition) -> None:
    errors = {}
    unknown = [key for key in definition.fields if key not in FIELDS]
    if not definition.fields or unknown:
        errors["fields"] = "Choose at least one field." if not definition.fields else f"Unknown fields: {unknown}."
    filters = definition.filters
    if set(filters) - set(FILTER_KEYS):
        errors["filters"] = f"Unknown filters: {sorted(set(filters) - set(FILTER_KEYS))}."
    if filters.get("status") and filters["status"] not in ResponseStatus.values:
        errors["filters"] = "Unknown status."
    if filters.get("usage") and filters["usage"] not in ("current", "passed"):
        errors["filters"] = "Usage is current or passed."
    if filters.get("created_from") and filters.get("created_to") and filters["created_from"] > filters["created_to"]:
        errors["filters"] = "The start date must be on or before the end date."
    if errors:
        raise ApplicationError("Check the export's settings.", code="validation_error", extra={"fields": errors})


@transaction.atomic
def save_export_definition(*, clinic: Clinic, data: dict, definition: ExportDefinition | None = None,
                           created_by: str = "") -> ExportDefinition:
    """Create or edit an export definition: fields in column order, filters, format, schedule (RED-5)."""
    definition = definition or ExportDefinition(clinic=clinic, created_by=created_by[:150])
    for name in ("name", "fields", "format", "schedule", "keep_files"):
        if name in data:
            setattr(definition, name, data[name])
    if "filters" in data:
        definition.filters = {k: v for k, v in data["filters"].items() if v not in (None, "")}
    ExportFormat(definition.format)
    ExportSchedule(definition.schedule)
    _check(definition)
    definition.full_clean()
    definition.save()
    return definition


def filtered_responses(definition: ExportDefinition, *, clinic: Clinic) -> QuerySet[OfferResponse]:
    """The responses a definition exports (the clinic in scope), dates judged in the clinic's timezone."""
    filters, queryset = definition.filters, OfferResponse.objects.all()
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("offer"):
        queryset = queryset.filter(promotion_key=filters["offer"])
    if filters.get("kind"):
        queryset = queryset.filter(promotion_key__regex=rf"^{filters['kind']}_[0-9]+$")
    today = clinic.today()
    if filters.get("usage") == "passed":
        queryset = queryset.filter(usage_until__lt=today)
    elif filters.get("usage") == "current":
        queryset = queryset.filter((Q(usage_from__isnull=True) | Q(usage_from__lte=today))
                                   & (Q(usage_until__isnull=True) | Q(usage_until__gte=today)))
    if filters.get("created_from"):
        queryset = queryset.filter(created_at__gte=clinic.start_of(date.fromisoformat(filters["created_from"])))
    if filters.get("created_to"):
        end = date.fromisoformat(filters["created_to"])
        queryset = queryset.filter(created_at__lt=clinic.start_of(date.fromordinal(end.toordinal() + 1)))
    return queryset


class _Writer:
    def __init__(self, handle, fmt: str, keys: list[str]):
        self.handle, self.fmt, self.keys = handle, fmt, keys
        if fmt == ExportFormat.CSV:
            self.csv = csv.writer(handle)
            self.csv.writerow([FIELDS[key].label for key in keys])

    def write(self, cells: list) -> None:
        if self.fmt == ExportFormat.CSV:
            self.csv.writerow(cells)
        else:
            self.handle.write(json.dumps(dict(zip(self.keys, cells)), ensure_ascii=False, default=str) + "\n")


def execute_export(*, clinic_id: int, run_id: int, chunk_size: int = CHUNK_SIZE) -> ExportRun:
    """Write a queued run's file, chunk by chunk, recording progress after each (RED-5).

    Runs outside any transaction of its own: each chunk is read and its progress saved in a short
    transaction in the clinic's scope. A run that is not queued (a redelivered task) is left alone.
    """
    with clinic_scope(clinic_id):
        claimed = ExportRun.objects.filter(pk=run_id, status=ExportStatus.QUEUED).update(
            status=ExportStatus.RUNNING, started_at=timezone.now())
        run = ExportRun.objects.select_related("definition", "clinic").get(pk=run_id)
        if not claimed:
            return run
        definition, clinic = run.definition, run.clinic
        total = filtered_responses(definition, clinic=clinic).count()
        ExportRun.objects.filter(pk=run_id).update(rows_total=total)
    keys = list(definition.fields)
    columns = list(dict.fromkeys(["id", *[c for key in keys for c in FIELDS[key].columns]]))
    folder = exports_dir(clinic_id)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{run_id}-{slugify(definition.name) or 'export'}.{definition.format}"
    partial = folder / f".{name}.part"
    try:
        done, last_id = 0, 0
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            writer = _Writer(handle, definition.format, keys)
            while True:
                with clinic_scope(clinic_id):
                    rows = list(filtered_responses(definition, clinic=clinic).filter(id__gt=last_id)
                                .order_by("id").values_list(*columns)[:chunk_size])
                    for row in rows:
                        values = dict(zip(columns, row))
                        writer.write([FIELDS[key].value(*[values[c] for c in FIELDS[key].columns], clinic)
                                      for key in keys])
                    if rows:
                        done, last_id = done + len(rows), rows[-1][0]
                        ExportRun.objects.filter(pk=run_id).update(rows_done=done)
                if len(rows) < chunk_size:
                    break
        os.replace(partial, folder / name)
    except Exception as error:
        partial.unlink(missing_ok=True)
        with clinic_scope(clinic_id):
            ExportRun.objects.filter(pk=run_id).update(status=ExportStatus.FAILED, error=str(error)[:500],
                                                       finished_at=timezone.now())
        raise
    with clinic_scope(clinic_id):
        ExportRun.objects.filter(pk=run_id).update(
            status=ExportStatus.DONE, file_name=name, size=(folder / name).stat().st_size, rows_done=done,
            rows_total=max(total, done), finished_at=timezone.now())
        prune_export_files(definition=definition)
        return ExportRun.objects.get(pk=run_id)


def prune_export_files(*, definition: ExportDefinition) -> int:
    """Keep the files of the definition's newest `keep_files` finished runs; forget older ones."""
    finished = list(ExportRun.objects.filter(definition=definition, status=ExportStatus.DONE)
                    .exclude(file_name="").order_by("-created_at", "-id"))
    stale = finished[definition.keep_files:]
    for run in stale:
        (exports_dir(run.clinic_id) / run.file_name).unlink(missing_ok=True)
    ExportRun.objects.filter(pk__in=[run.pk for run in stale]).update(file_name="", size=0)
    return len(stale)


def export_file_path(run: ExportRun) -> Path | None:
    """The file of a finished run, when it is still kept."""
    if run.status != ExportStatus.DONE or not run.file_name:
        return None
    path = exports_dir(run.clinic_id) / run.file_name
    return path if path.is_file() else None
