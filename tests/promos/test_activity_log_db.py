"""The promo activity log is append-only in PostgreSQL itself, not just in our code (PRO-5)."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from promos.choices import PromoAction
from promos.models import Promo, PromoActivity

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def logged(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        promo = Promo.objects.create(name="Spring", discount_type="percent", discount_value=10)
        return PromoActivity.objects.create(promo=promo, action=PromoAction.CREATED, actor_name="Ann Owner",
                                            actor_email="ann@example.com")


@pytest.mark.parametrize("statement", [
    "UPDATE promos_promoactivity SET actor_name = 'Someone else' WHERE id = %s",
    "DELETE FROM promos_promoactivity WHERE id = %s",
])
def test_raw_sql_cannot_change_or_remove_a_log_row(clinic_a, in_clinic, logged, statement):
    # given a log row, when raw SQL tries to change or delete it inside the clinic's scope
    with in_clinic(clinic_a):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [logged.pk])
        # then the row is as it was
        row = PromoActivity.objects.get(pk=logged.pk)
    assert row.actor_name == "Ann Owner"


def test_the_orm_cannot_either(clinic_a, in_clinic, logged):
    with in_clinic(clinic_a):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic():
                PromoActivity.objects.filter(pk=logged.pk).update(action=PromoAction.ARCHIVED)
