"""Exports: offer response export definitions, their runs with a progress bar, and the files (RED-5).

Export files carry patients' names and e-mails: staff of the clinic only, never viewers, and a file
is served only through its run, looked up in the clinic's scope.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clinic_crm.common.errors import ApplicationError
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import clinic_view
from redemptions.choices import ExportStatus
from redemptions.dispatch import start_export
from redemptions.filters import offer_choices
from redemptions.forms import ExportDefinitionForm
from redemptions.models import ExportDefinition, ExportRun
from redemptions.registry import promotion_kinds
from redemptions.services.exports import export_file_path, save_export_definition


def _definition(definition_id: int) -> ExportDefinition:
    definition = ExportDefinition.objects.filter(pk=definition_id).first()
    if definition is None:
        raise Http404("No such export")
    return definition


def _who(request) -> str:
    return request.user.get_full_name() or request.user.email


def _form(request, definition=None):
    initial = ExportDefinitionForm.initial_of(definition) if definition else {
        "columns": ["offer_name", "patient_name", "certificate_code", "status", "created_at"]}
    return ExportDefinitionForm(request.POST or None, initial=initial, offers=offer_choices(),
                                kinds=[(k.key, k.label) for k in promotion_kinds()])


@clinic_view(required_role=Role.STAFF)
def export_list(request):
    definitions = list(ExportDefinition.objects.order_by("name", "id"))
    latest = {}
    for run in ExportRun.objects.filter(definition__in=definitions).order_by("definition_id", "-created_at", "-id"):
        latest.setdefault(run.definition_id, run)
    rows = [(d, latest.get(d.pk)) for d in definitions]
    return render(request, "redemptions/export_list.html", {"rows": rows, "nav": "exports"})


@clinic_view(required_role=Role.STAFF)
def export_edit(request, definition_id=None):
    definition = _definition(definition_id) if definition_id else None
    form = _form(request, definition)
    if request.method == "POST" and form.is_valid():
        try:
            definition = save_export_definition(clinic=request.clinic, data=form.service_data(), definition=definition,
                                                created_by=_who(request))
        except ApplicationError as exc:
            for field, error in (exc.extra.get("fields") or {"__all__": exc.message}).items():
                form.add_error({"fields": "columns"}.get(field, field) if field in ("fields",) else None, error)
        else:
            messages.success(request, f"Export “{definition.name}” saved.")
            return redirect("exports:detail", clinic_slug=request.clinic.slug, definition_id=definition.pk)
    return render(request, "redemptions/export_form.html", {"form": form, "definition": definition, "nav": "exports"})


@clinic_view(required_role=Role.STAFF)
def export_detail(request, definition_id):
    definition = _definition(definition_id)
    runs = list(ExportRun.objects.filter(definition=definition).order_by("-created_at", "-id")[:20])
    context = {"definition": definition, "runs": runs, "nav": "exports",
               "active": any(r.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) for r in runs)}
    template = "redemptions/export_detail.html#runs" if request.htmx else "redemptions/export_detail.html"
    return render(request, template, context)


@require_POST
@clinic_view(required_role=Role.STAFF)
def export_run(request, definition_id):
    definition = _definition(definition_id)
    start_export(definition=definition, created_by=_who(request))
    messages.success(request, "Export started. The file is ready to download when the bar is full.")
    return redirect("exports:detail", clinic_slug=request.clinic.slug, definition_id=definition.pk)


@clinic_view(required_role=Role.STAFF)
def export_download(request, run_id):
    run = ExportRun.objects.select_related("definition").filter(pk=run_id).first()
    path = export_file_path(run) if run is not None else None
    if path is None:
        raise Http404("No such file")
    content_type = "text/csv" if path.suffix == ".csv" else "application/jsonl"
    return FileResponse(open(path, "rb"), as_attachment=True, filename=path.name.split("-", 1)[1],
                        content_type=content_type)
