from django.db import migrations

from clinic_crm.tenancy.operations import RecreateClinicPolicies


class Migration(migrations.Migration):
    """Row-level security no longer yields to `app.bypass_rls`: Django admin reads across clinics as a
    BYPASSRLS role instead (PLATFORM_DATABASE_URL)."""

    dependencies = [
        ('tenancy', '0004_clinic_require_two_factor'),
    ]

    operations = [
        RecreateClinicPolicies(),
    ]
