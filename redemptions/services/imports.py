"""Backfills of redemption events too large for one batch: a file of JSON lines, stored as it arrives,
then read by a worker 10,000 events at a time through the same checks as a batch (RED-6).

Memory stays flat whatever the file's size: it is written in chunks and read a batch at a time. A
redelivered task resumes after the last batch it finished, and a replayed event is a duplicate, so
nothing counts twice.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinic_crm.common.errors import ApplicationError
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import Clinic
from redemptions.choices import ImportStatus
from redemptions.models import EventImport
from redemptions.services.events import MAX_BATCH, REJECTED, ingest_redemption_events

CHUNK_BYTES = 1 << 20
MAX_REJECTIONS_KEPT = 1000


class ImportTooLarge(ApplicationError):
    status_code = 413
    default_code = "payload_too_large"


def imports_dir(clinic_id: int) -> Path:
    return Path(settings.EXPORTS_DIR) / str(clinic_id) / "imports"


@transaction.atomic
def receive_event_import(*, clinic: Clinic, stream, created_by: str = "") -> EventImport:
    """Store an uploaded file of events (read from `stream` in chunks) and its import row; the clinic in scope."""
    row = EventImport.objects.create(clinic=clinic, file_name="", created_by=created_by[:150])
    folder = imports_dir(clinic.pk)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{row.pk}.jsonl"
    size, lines, carry = 0, 0, b""
    try:
        with path.open("wb") as out:
            while chunk := stream.read(CHUNK_BYTES):
                size += len(chunk)
                if size > settings.EVENT_IMPORT_MAX_BYTES:
                    raise ImportTooLarge(f"A file of events may be at most {settings.EVENT_IMPORT_MAX_BYTES // 2**20} "
                                         "MB; split it, or send batches.")
                complete, _, carry = (carry + chunk).rpartition(b"\n")
                lines = _check_shape(complete, lines) if complete else lines
                out.write(chunk)
            lines = _check_shape(carry, lines)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise ApplicationError("The file is empty: send one event as a JSON object per line.",
                               code="validation_error", extra={"fields": {"file": ["The file is empty."]}})
    row.file_name, row.size = path.name, size
    row.save(update_fields=["file_name", "size"])
    return row


def _check_shape(block: bytes, counted: int) -> int:
    """Refuse the upload at once when a line is not even shaped like a JSON object (the file is not
    JSON lines); a line that is, but has a wrong field, is rejected on its own when the file is read."""
    for number, line in enumerate(block.split(b"\n"), start=counted + 1):
        text = line.strip()
        if text and not (text.startswith(b"{") and text.endswith(b"}")):
            raise ApplicationError(f"Line {number} is not a JSON object: send one event as a JSON object per line.",
                                   code="validation_error",
                                   extra={"fields": {"file": [f"Line {number} is not a JSON object."]}})
    return counted + block.count(b"\n") + 1


def _batches(path: Path, skip: int):
    """(first line number, [(line number, parsed or None), …]) of up to MAX_BATCH lines, after `skip` lines."""
    batch: list[tuple[int, object]] = []
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if number <= skip:
                continue
            text = raw.strip()
            if not text:
                continue
            try:
                event = None if b"\x00" in text or b"\\u0000" in text else json.loads(text)
            except ValueError:
                event = None
            batch.append((number, event))
            if len(batch) == MAX_BATCH:
                yield number, batch
                batch = []
    if batch:
        yield batch[-1][0], batch


def run_event_import(*, clinic_id: int, import_id: int) -> EventImport:
    """Read an import's file a batch at a time, each batch in its own transaction, with progress after each."""
    with clinic_scope(clinic_id):
        row = EventImport.objects.get(pk=import_id)
        if row.status in (ImportStatus.DONE, ImportStatus.FAILED):
            return row
        clinic = Clinic.objects.get(pk=clinic_id)
        row.status, row.started_at = ImportStatus.RUNNING, row.started_at or timezone.now()
        row.save(update_fields=["status", "started_at"])
    path = imports_dir(clinic_id) / row.file_name
    try:
        for last_line, batch in _batches(path, row.lines_done):
            with clinic_scope(clinic_id), transaction.atomic():
                row = EventImport.objects.select_for_update().get(pk=import_id)
                if row.lines_done >= last_line:
                    continue  # another delivery of this task did this batch
                valid = [(number, event) for number, event in batch if isinstance(event, dict)]
                outcome = ingest_redemption_events(clinic=clinic, events=[event for _, event in valid])
                kept = row.rejections
                for number, event in batch:
                    if not isinstance(event, dict) and len(kept) < MAX_REJECTIONS_KEPT:
                        kept.append({"line": number, "event_id": None, "status": REJECTED,
                                     "code": "validation_error", "message": "Each line is one event as a JSON object."})
                for (number, _), result in zip(valid, outcome.results):
                    if result.status == REJECTED and len(kept) < MAX_REJECTIONS_KEPT:
                        kept.append({"line": number, **result.as_dict()})
                row.accepted += outcome.accepted
                row.duplicates += outcome.duplicates
                row.rejected += outcome.rejected + len(batch) - len(valid)
                row.lines_done = last_line
                row.save(update_fields=["accepted", "duplicates", "rejected", "rejections", "lines_done"])
        final, error = ImportStatus.DONE, ""
    except OSError as failure:
        final, error = ImportStatus.FAILED, f"The file could not be read: {failure.strerror or failure}"
    with clinic_scope(clinic_id):
        row = EventImport.objects.get(pk=import_id)
        row.status, row.error, row.finished_at = final, error, timezone.now()
        row.save(update_fields=["status", "error", "finished_at"])
    if final == ImportStatus.DONE:
        path.unlink(missing_ok=True)  # the events are in the ledger; the file is no longer needed
    return row
