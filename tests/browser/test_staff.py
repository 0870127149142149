"""Staff invitations end to end in Chromium: invite, the e-mailed link, a password of one's own (CORE-2)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.models import Membership, StaffInvitation
from tests.browser.conftest import sign_in
from tests.conftest import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "my-own-long-passphrase"


def invitation_link(email: str) -> str:
    message = next(m for m in reversed(mail.outbox) if m.to == [email])
    return re.search(r"https?://\S+/accounts/invitations/\S+/", message.body).group(0)


def invite_from_staff_page(page: Page, base: str, clinic, email: str, role: str) -> None:
    page.goto(f"{base}/c/{clinic.slug}/settings/staff/")
    form = page.locator("form", has=page.get_by_role("heading", name="Invite someone"))
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Role").select_option(role)
    form.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"Invitation sent to {email}")).to_be_visible()


def test_an_invited_person_sets_their_own_password_signs_in_and_sees_the_clinic(
        clinic_a, owner_a, login, page, live_server, browser, screenshot):
    # given the owner invites a new manager from the Staff page
    mail.outbox.clear()
    login(owner_a)
    invite_from_staff_page(page, live_server.url, clinic_a, "nora@example.com", "manager")
    invitations = page.get_by_test_id("invitations")
    expect(invitations).to_contain_text("nora@example.com")
    expect(invitations).to_contain_text("Manager")
    expect(page.get_by_test_id("staff-log")).to_contain_text("Invited")
    screenshot("staff-invited")

    # when Nora opens the e-mailed link in her own browser and sets a password
    link = invitation_link("nora@example.com").replace("http://testserver", live_server.url)
    nora = browser.new_context(viewport={"width": 420, "height": 860}).new_page()
    nora.goto(link)
    expect(nora.get_by_role("heading", name=f"Join {clinic_a.name}")).to_be_visible()
    nora.get_by_label("First name").fill("Nora")
    nora.get_by_label("Last name").fill("Quinn")
    nora.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    nora.get_by_label("Password again").fill(NEW_PASSWORD)
    nora.get_by_role("button", name="Create my login and join").click()
    # then she is in the clinic's dashboard as a manager
    nora.wait_for_url(re.compile(rf"/c/{clinic_a.slug}/$"))
    expect(nora.get_by_text(f"Welcome to {clinic_a.name}.")).to_be_visible()
    assert Membership.objects.get(clinic=clinic_a, user__email="nora@example.com").role == Role.MANAGER

    # and she can sign in again later with her own password
    nora.context.clear_cookies()
    sign_in(nora, live_server.url, "nora@example.com", NEW_PASSWORD)
    expect(nora).to_have_url(re.compile(rf"/c/{clinic_a.slug}/$"))

    # while the same link, opened again, is refused with a clear page
    nora.goto(link)
    expect(nora.get_by_test_id("invitation-closed")).to_contain_text("already been used")
    nora.context.close()


def test_an_expired_link_is_refused_with_a_clear_page(clinic_a, owner_a, login, page, live_server):
    mail.outbox.clear()
    login(owner_a)
    invite_from_staff_page(page, live_server.url, clinic_a, "late@example.com", "staff")
    StaffInvitation.objects.filter(email="late@example.com").update(expires_at=timezone.now() - timedelta(minutes=1))
    page.context.clear_cookies()
    page.goto(invitation_link("late@example.com").replace("http://testserver", live_server.url))
    expect(page.get_by_test_id("invitation-closed")).to_contain_text("This invitation has expired")
    expect(page.get_by_role("button", name="Create my login and join")).to_have_count(0)


def test_a_role_change_needs_its_confirmation(clinic_a, owner_a, login, page, live_server, screenshot):
    # given a staff member
    member = make_staff(clinic_a, Role.STAFF, email="sam@example.com")
    login(owner_a)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/settings/staff/")
    # when the owner picks Manager in the member's role list (with the keyboard, as a slip would)
    select = page.get_by_label("New role for sam@example.com")
    select.focus()
    select.select_option("manager")
    # then nothing is saved by the change itself
    page.wait_for_timeout(300)
    assert Membership.objects.get(clinic=clinic_a, user=member).role == Role.STAFF
    # and the button opens a page that says what it means, with its own confirm button
    page.get_by_role("row", name=re.compile("sam@example.com")).get_by_role("button", name="Change role…").click()
    confirmation = page.get_by_test_id("staff-confirmation")
    expect(confirmation).to_contain_text("see every report")
    screenshot("staff-role-confirm")
    assert Membership.objects.get(clinic=clinic_a, user=member).role == Role.STAFF
    confirmation.get_by_role("button", name="Make manager").click()
    expect(page.get_by_text("sam@example.com is now Manager.")).to_be_visible()
    assert Membership.objects.get(clinic=clinic_a, user=member).role == Role.MANAGER
    expect(page.get_by_test_id("staff-log")).to_contain_text("Role changed")


def test_a_clinic_that_requires_two_factor_sign_in_has_staff_set_up_an_app_first(
        clinic_a, owner_a, page, live_server, screenshot):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinic_crm.tenancy import two_factor

    # given the owner has an app and requires it at the clinic, and a staff member has none
    device = two_factor.start_setup(owner_a)
    two_factor.confirm_setup(user=owner_a, device=device, token=f"{totp(device.bin_key):06d}")
    two_factor.set_clinic_requirement(clinic=clinic_a, required=True, actor_user=owner_a)
    member = make_staff(clinic_a, Role.STAFF, email="tess@example.com")
    # when the staff member signs in with their password
    sign_in(page, live_server.url, member.email)
    # then they set up an app before anything else, scanning the QR code shown
    expect(page.get_by_test_id("two-factor-setup")).to_contain_text("Clinic A requires a code")
    expect(page.get_by_test_id("qr").locator("svg")).to_be_visible()
    screenshot("two-factor-setup")
    new_device = TOTPDevice.objects.get(user=member, confirmed=False)
    page.get_by_label("Code from the app").fill(f"{totp(new_device.bin_key):06d}")
    page.get_by_role("button", name="Turn on and sign in").click()
    # and, once the recovery codes are saved, they are in the clinic
    expect(page.get_by_test_id("recovery-codes").locator("code")).to_have_count(10)
    screenshot("two-factor-codes")
    page.get_by_role("link", name="I have saved them").click()
    expect(page).to_have_url(re.compile(rf"/c/{clinic_a.slug}/$"))
