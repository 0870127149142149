from django.db import migrations


def backfill(apps, schema_editor):
    """Each card issued is its template's assignment to the patient (RED-7), counted on its day."""
    from collections import Counter
    from zoneinfo import ZoneInfo

    from clinic_crm.tenancy.context import every_clinic

    Clinic = apps.get_model("tenancy", "Clinic")
    Card = apps.get_model("coupons", "Card")
    Assignment = apps.get_model("redemptions", "Assignment")
    PromotionTally = apps.get_model("redemptions", "PromotionTally")
    RfmScore = apps.get_model("patients", "RfmScore")
    with every_clinic(schema_editor):
        segments = dict(RfmScore._default_manager.values_list("patient_id", "segment"))
        for clinic in Clinic.objects.all():
            zone = ZoneInfo(clinic.timezone)
            held = set(Assignment._default_manager.filter(clinic_id=clinic.pk, promotion_key__startswith="card_")
                       .values_list("promotion_key", "patient_id"))
            new, counts = [], Counter()
            cards = (Card._default_manager.filter(clinic_id=clinic.pk).order_by("created_at", "id")
                     .values_list("template_id", "patient_id", "created_at"))
            for template_id, patient_id, at in cards:
                pair = (f"card_{template_id}", patient_id)
                if pair in held:
                    continue
                held.add(pair)
                new.append(Assignment(clinic_id=clinic.pk, promotion_key=pair[0], patient_id=patient_id,
                                      source="card", assigned_at=at))
                counts[(pair[0], at.astimezone(zone).date(), segments.get(patient_id, ""))] += 1
            Assignment._default_manager.bulk_create(new, batch_size=500)
            PromotionTally._default_manager.bulk_create([
                PromotionTally(clinic_id=clinic.pk, promotion_key=key, day=day, segment=segment, assigned=n)
                for (key, day, segment), n in counts.items()], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("coupons", "0003_wallet_pass_config"),
        ("redemptions", "0006_ledger_assignments_tallies"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
