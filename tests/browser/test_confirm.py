"""The one confirmation dialog: a risky action says what
happens, what stays and the safer choice, in the product's own dialog; Going back changes nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from clinic_crm.tenancy.models import ApiKey
from clinic_crm.tenancy.services import create_api_key

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_revoking_a_key_asks_in_the_products_dialog_and_cancel_keeps_it(clinic_a, owner_a, login, page: Page,
                                                                        live_server, screenshot):
    create_api_key(clinic=clinic_a, name="Front desk POS", scopes=["pos"])
    login(owner_a)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/settings/api-keys/")
    page.on("dialog", lambda native: pytest.fail(f"a browser pop-up appeared: {native.message}"))
    # when Revoke is pressed, the product's dialog says what happens, what stays and the safer way
    page.get_by_role("button", name="Revoke Front desk POS").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Revoke “Front desk POS”?")
    expect(dialog).to_contain_text("stop working at once")
    expect(dialog).to_contain_text("stays")
    expect(dialog).to_contain_text("create the new key first")
    screenshot("confirm-revoke-key")
    # Go back (or Escape) keeps the key
    dialog.get_by_role("button", name="Go back").click()
    expect(dialog).to_be_hidden()
    assert ApiKey.objects.get(name="Front desk POS").revoked_at is None
    # Confirm revokes it
    page.get_by_role("button", name="Revoke Front desk POS").click()
    dialog.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_text("is revoked. Requests with it are refused")).to_be_visible()
    assert ApiKey.objects.get(name="Front desk POS").revoked_at is not None
