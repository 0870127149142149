from django.core.management.base import BaseCommand, CommandError

from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.auth import mint_patient_token
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import Clinic


class Command(BaseCommand):
    help = "Mint a patient-app token for support and testing."

    def add_arguments(self, parser):
        parser.add_argument("--clinic", required=True, help="Clinic slug")
        parser.add_argument("--patient", required=True, help="Patient id or external id")

    def handle(self, *args, **opts):
        clinic = Clinic.objects.filter(slug=opts["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with slug “{opts['clinic']}”.")
        with clinic_scope(clinic.pk):
            ref = opts["patient"]
            patient = Patient.objects.filter(external_id=ref).first()
            if patient is None and ref.isdigit():
                patient = Patient.objects.filter(pk=int(ref)).first()
            if patient is None:
                raise CommandError(f"No patient “{ref}” in {clinic.name}.")
            token = mint_patient_token(clinic=clinic, patient_id=patient.pk)
        self.stdout.write(f"Patient: {patient.full_name} ({patient.external_id}) of {clinic.slug}")
        self.stdout.write(f"App key: {clinic.app_key}")
        self.stdout.write(f"Token: {token}")
