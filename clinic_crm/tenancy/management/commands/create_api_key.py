from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinic_crm.tenancy.models import Clinic
from clinic_crm.tenancy.services import create_api_key


class Command(BaseCommand):
    help = "Create an integration API key for a clinic and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--clinic", required=True, help="Clinic slug")
        parser.add_argument("--scopes", default="pos", help="Comma-separated: pos,events")
        parser.add_argument("--name", default="Integration")

    def handle(self, *args, **opts):
        clinic = Clinic.objects.filter(slug=opts["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with slug “{opts['clinic']}”.")
        scopes = [s.strip() for s in opts["scopes"].split(",") if s.strip()]
        try:
            api_key, full = create_api_key(clinic=clinic, name=opts["name"], scopes=scopes)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stdout.write(f"Scopes: {', '.join(api_key.scopes)} · clinic {clinic.slug}")
        self.stdout.write(f"API key: {full}")
        self.stdout.write("Store it now: it cannot be shown again.")
