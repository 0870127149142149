"""The promo form by kind: a personalised promo has no banner or auto-apply, a tiered one no separate
minimum order, and empty tier rows read as empty (PRO-1)."""

from __future__ import annotations

import re

import pytest

from promos.models import Promo
from tests.promos.factories import form_data, seed, url

pytestmark = pytest.mark.django_db


def shown_for(html: str, field: str) -> str:
    """The kinds the form shows a field for: the data-show-values of the block around it."""
    at = html.index(f'name="{field}"')
    opening = html.rindex('data-show-when="kind"', 0, at)
    return re.match(r'data-show-when="kind" data-show-values="([^"]+)"', html[opening:]).group(1)


def test_banner_and_auto_apply_are_only_offered_for_shared_codes(clinic_a, staff_a, client_for):
    html = client_for(staff_a).get(url(clinic_a, "create")).content.decode()
    assert shown_for(html, "show_banner") == "global tiered"
    assert shown_for(html, "auto_apply") == "global tiered"
    assert 'data-testid="app-flags-note"' in html


def test_a_personalised_promo_is_saved_without_banner_or_auto_apply(clinic_a, in_clinic, staff_a, client_for):
    # when staff post a personalised promo with both toggles on (say, ticked before switching kind)
    response = client_for(staff_a).post(url(clinic_a, "create"), form_data(
        kind="personalised", name="VIP", code="", show_banner="on", auto_apply="on"))

    # then it is saved, with both off
    assert response.status_code == 302, response.context and response.context["form"].errors
    with in_clinic(clinic_a):
        promo = Promo.objects.get(name="VIP")
    assert (promo.show_banner, promo.auto_apply) == (False, False)


def test_editing_a_personalised_promo_clears_flags_it_cannot_use(clinic_a, in_clinic, staff_a, client_for):
    # given a personalised promo whose row has a banner and auto-apply set (saved before the services cleared them)
    promo = seed(clinic_a, in_clinic, "VIP", kind="personalised")
    with in_clinic(clinic_a):
        Promo.objects.filter(pk=promo.pk).update(show_banner=True, auto_apply=True)

    # when it is saved through the form with the toggles still posted
    response = client_for(staff_a).post(url(clinic_a, "edit", promo.pk), form_data(
        kind="personalised", name="VIP", code="", discount_value="10", show_banner="on", auto_apply="on"))

    # then both are cleared, and the log says so
    assert response.status_code == 302
    with in_clinic(clinic_a):
        promo.refresh_from_db()
        assert (promo.show_banner, promo.auto_apply) == (False, False)
        assert set(promo.activity.get(action="updated").diff) >= {"show_banner", "auto_apply"}


def test_a_tiered_promo_has_no_separate_minimum_order(clinic_a, in_clinic, staff_a, client_for):
    client = client_for(staff_a)
    # the form hides Minimum order for tiered promos: the lowest tier is the minimum
    html = client.get(url(clinic_a, "create")).content.decode()
    assert shown_for(html, "min_order") == "global personalised"

    # and a minimum order posted with a tiered promo is not saved
    response = client.post(url(clinic_a, "create"), form_data(
        kind="tiered", name="Ladder", code="LADDER", discount_value="", min_order="500", **{
            "tiers-0-min_order": "100", "tiers-0-discount_type": "percent", "tiers-0-discount_value": "5"}))
    assert response.status_code == 302, response.context and response.context["form"].errors
    with in_clinic(clinic_a):
        promo = Promo.objects.get(name="Ladder")
    assert promo.min_order is None

    # and its Details name the lowest tier as the minimum
    detail = client.get(url(clinic_a, "detail", promo.pk)).content.decode()
    assert 'data-testid="detail-min-order">The lowest tier, £100.00<' in detail


def test_empty_tier_rows_have_no_discount_type_chosen(clinic_a, staff_a, client_for):
    html = client_for(staff_a).get(url(clinic_a, "create")).content.decode()
    selects = re.findall(r'<select name="tiers-\d-discount_type".*?</select>', html, flags=re.S)
    assert len(selects) == 4
    for select in selects:
        assert '<option value="" selected>Choose…</option>' in select
        assert 'value="percent" selected' not in select


def test_a_tier_without_a_discount_type_is_refused_on_its_row(clinic_a, staff_a, client_for):
    response = client_for(staff_a).post(url(clinic_a, "create"), form_data(
        kind="tiered", name="Ladder", code="LADDER", discount_value="", **{
            "tiers-0-min_order": "100", "tiers-0-discount_value": "5"}))
    assert response.status_code == 200
    tier_form = response.context["form"].tiers.forms[0]
    assert tier_form.errors["discount_type"] == ["Choose Percent or Fixed amount."]
    assert "Choose Percent or Fixed amount." in response.content.decode()


def test_an_edited_tiered_promo_keeps_its_tier_types(clinic_a, in_clinic, staff_a, client_for):
    promo = seed(clinic_a, in_clinic, "Ladder", code="LADDER", kind="tiered")
    html = client_for(staff_a).get(url(clinic_a, "edit", promo.pk)).content.decode()
    first, second, *empty = re.findall(r'<select name="tiers-\d-discount_type".*?</select>', html, flags=re.S)
    assert 'value="percent" selected' in first and 'value="amount" selected' in second
    assert all('<option value="" selected>' in select for select in empty)
