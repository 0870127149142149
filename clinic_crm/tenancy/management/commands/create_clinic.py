from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinic_crm.tenancy.services import create_clinic


class Command(BaseCommand):
    help = "Create a clinic (tenant) and print its patient-app key."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--timezone", default="Europe/London")
        parser.add_argument("--currency", default="GBP")
        parser.add_argument("--locale", default="uk", choices=["uk", "us"])

    def handle(self, *args, **opts):
        try:
            clinic = create_clinic(name=opts["name"], slug=opts["slug"], timezone_name=opts["timezone"],
                                   currency=opts["currency"].upper(), locale=opts["locale"])
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()))
        self.stdout.write(f"Clinic: {clinic.name} ({clinic.slug}), {clinic.timezone}, {clinic.currency}")
        self.stdout.write(f"App key: {clinic.app_key}")
