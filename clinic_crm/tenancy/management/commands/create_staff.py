from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.models import Clinic
from clinic_crm.tenancy.services import create_staff


class Command(BaseCommand):
    help = "Give a login a role in a clinic, creating the login if needed."

    def add_arguments(self, parser):
        parser.add_argument("--clinic", required=True, help="Clinic slug")
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="Set this password (otherwise a new login gets a generated one)")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args, **opts):
        clinic = Clinic.objects.filter(slug=opts["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with slug “{opts['clinic']}”.")
        try:
            membership, generated = create_staff(
                clinic=clinic, email=opts["email"], role=opts["role"], password=opts["password"],
                first_name=opts["first_name"], last_name=opts["last_name"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stdout.write(f"Staff: {membership.user.email} is {membership.get_role_display()} of {clinic.name}")
        if generated:
            self.stdout.write(f"Password: {generated}")
