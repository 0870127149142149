"""Give every clinic that existed before automated offers its one offer per occasion (OFF-3)."""

from django.db import migrations


def create_missing(apps, schema_editor):
    from clinic_crm.tenancy.context import every_clinic
    from offers.catalogue import automated_offer_defaults
    from offers.choices import Occasion

    Clinic = apps.get_model("tenancy", "Clinic")
    AutomatedOffer = apps.get_model("offers", "AutomatedOffer")
    # Safe: a data migration fills rows for every clinic, each row for its own clinic.
    with every_clinic(schema_editor):
        for clinic_id in Clinic._default_manager.values_list("id", flat=True):
            existing = set(AutomatedOffer._default_manager.filter(clinic_id=clinic_id).values_list("occasion", flat=True))
            AutomatedOffer._default_manager.bulk_create([
                AutomatedOffer(clinic_id=clinic_id, occasion=o, **automated_offer_defaults(o))
                for o in Occasion.values if o not in existing
            ])


class Migration(migrations.Migration):
    dependencies = [("offers", "0001_initial"), ("tenancy", "0001_initial")]
    operations = [migrations.RunPython(create_missing, migrations.RunPython.noop)]
