"""Patients: the patient list and form (CORE-3). The profile composes every app, so it is in dashboard/."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clinic_crm.common.csv_export import stream_csv
from clinic_crm.patients import selectors, services
from clinic_crm.patients.forms import PatientForm
from clinic_crm.patients.choices import RfmSegment
from clinic_crm.patients.models import Patient
from clinic_crm.patients.rfm import recompute_rfm
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import clinic_view

PAGE_SIZE = 25


@clinic_view(required_role=Role.VIEWER)
def patient_list(request):
    search = request.GET.get("q", "").strip()
    segment = request.GET.get("segment", "")
    if segment not in RfmSegment.values:
        segment = ""
    sort = request.GET.get("sort", "")
    sort = sort if sort in selectors.PATIENT_SORTS else ""
    patients = selectors.list_patients(search=search, segment=segment, sort=sort)
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.count_patients_by_segment()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page, "search": search, "segment": segment, "nav": "patients", "sort": sort,
        "querystring": query.urlencode(),
        "segments": [(value, label, counts.get(value, 0)) for value, label in RfmSegment.choices],
        "rfm_computed_at": selectors.rfm_computed_at(),
    }
    template = "patients/patient_list.html#results" if request.htmx else "patients/patient_list.html"
    return render(request, template, context)


@clinic_view(required_role=Role.VIEWER)
def patient_export(request):
    """The list as it is filtered and sorted, as a CSV file, read in chunks whatever its size."""
    search = request.GET.get("q", "").strip()
    segment = request.GET.get("segment", "")
    segment = segment if segment in RfmSegment.values else ""
    sort = request.GET.get("sort", "")
    sort = sort if sort in selectors.PATIENT_SORTS else "name"

    def rows():
        return selectors.iter_patient_rows(queryset=selectors.list_patients(search=search, segment=segment,
                                                                            sort=sort))

    return stream_csv(clinic=request.clinic, filename=f"patients-{request.clinic.slug}.csv", rows=rows)


@clinic_view(required_role=Role.STAFF)
def patient_create(request):
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = services.create_patient(data=form.cleaned_data)
        messages.success(request, f"{patient.full_name} was added.")
        return redirect("dashboard:patient", clinic_slug=request.clinic.slug, patient_id=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "nav": "patients"})


@clinic_view(required_role=Role.STAFF)
def patient_edit(request, patient_id):
    patient = get_object_or_404(Patient.objects, pk=patient_id)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        services.update_patient(patient=patient, data=form.cleaned_data)
        messages.success(request, "Patient details saved.")
        return redirect("dashboard:patient", clinic_slug=request.clinic.slug, patient_id=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient, "nav": "patients"})


@require_POST
@clinic_view(required_role=Role.STAFF)
def rfm_recompute(request):
    """Recompute the clinic's RFM segments now rather than waiting for the nightly run (COU-9)."""
    scored = recompute_rfm(clinic=request.clinic)
    messages.success(request, f"Segments recomputed: {scored} patient{'s' if scored != 1 else ''} with purchases scored.")
    return redirect("patients:list", clinic_slug=request.clinic.slug)
