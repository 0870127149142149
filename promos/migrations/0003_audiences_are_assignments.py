from django.db import migrations


def backfill(apps, schema_editor):
    """A live promo's audience and personal-code holders are its assignments (RED-7)."""
    from collections import Counter
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from clinic_crm.tenancy.context import every_clinic

    Clinic = apps.get_model("tenancy", "Clinic")
    Promo = apps.get_model("promos", "Promo")
    PromoAudienceMember = apps.get_model("promos", "PromoAudienceMember")
    PromoCode = apps.get_model("promos", "PromoCode")
    Assignment = apps.get_model("redemptions", "Assignment")
    PromotionTally = apps.get_model("redemptions", "PromotionTally")
    RfmScore = apps.get_model("patients", "RfmScore")
    now = timezone.now()
    with every_clinic(schema_editor):
        segments = dict(RfmScore._default_manager.values_list("patient_id", "segment"))
        for clinic in Clinic.objects.all():
            day = now.astimezone(ZoneInfo(clinic.timezone)).date()
            new, counts = [], Counter()
            for promo_id in Promo._default_manager.filter(clinic_id=clinic.pk, status="active").values_list("id", flat=True):
                key = f"promo_{promo_id}"
                holders = set(PromoAudienceMember._default_manager.filter(promo_id=promo_id).values_list("patient_id", flat=True))
                holders.update(PromoCode._default_manager.filter(promo_id=promo_id, patient__isnull=False)
                               .values_list("patient_id", flat=True))
                holders -= set(Assignment._default_manager.filter(clinic_id=clinic.pk, promotion_key=key)
                               .values_list("patient_id", flat=True))
                for patient_id in sorted(holders):
                    new.append(Assignment(clinic_id=clinic.pk, promotion_key=key, patient_id=patient_id,
                                          source="audience", assigned_at=now))
                    counts[(key, segments.get(patient_id, ""))] += 1
            Assignment._default_manager.bulk_create(new, batch_size=500)
            PromotionTally._default_manager.bulk_create([
                PromotionTally(clinic_id=clinic.pk, promotion_key=key, day=day, segment=segment, assigned=n)
                for (key, segment), n in counts.items()], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("promos", "0002_clinic_without_own_index"),
        ("redemptions", "0006_ledger_assignments_tallies"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
