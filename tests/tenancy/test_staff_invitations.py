"""Staff join a clinic by invitation; no clinic can hand out or take over a login (CORE-2).

A login is shared by every clinic it belongs to. An owner invites an address; only the holder
of that address joins, with a password of their own or by signing in with the login they
already have. Role changes and removals are confirmed first, and every change is in the
clinic's append-only staff log.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic_crm.tenancy.choices import Role, StaffAction
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import Membership, StaffActivity, StaffInvitation
from tests.conftest import PASSWORD, make_staff

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-and-private-passphrase"
LINK = re.compile(r"http://testserver(/accounts/invitations/[^/\s]+/)")


def staff_url(clinic, name="settings:staff", **kwargs):
    return reverse(name, kwargs={"clinic_slug": clinic.slug, **kwargs})


@pytest.fixture
def owner_client(owner_a, client_for):
    return client_for(owner_a)


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """Invite through the Staff page as the given owner's browser; return the page and the e-mailed link."""

    def _invite(client, clinic, email, role="staff"):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(staff_url(clinic), {"email": email, "role": role}, follow=True)
        links = [LINK.search(message.body).group(1) for message in mail.outbox if message.to == [email.lower()]]
        return response, (links[0] if links else None)

    return _invite


def messages_on(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def log_of(clinic):
    with clinic_scope(clinic.pk):
        return [(row.action, row.subject_email, row.details) for row in StaffActivity.objects.order_by("id")]


# --- the takeover, step by step -------------------------------------------------------------------


def test_a_login_one_clinic_invited_cannot_be_taken_into_another_clinic(clinic_a, clinic_b, owner_a, owner_b,
                                                                        client_for, invite):
    # given clinic A's owner invites an address as a viewer
    harley = client_for(owner_a)
    response, link_a = invite(harley, clinic_a, "newhire@example.com", "viewer")
    # then the page shows no password, and no login or membership exists yet
    assert response.status_code == 200
    assert [m for m in messages_on(response) if "password" in m.lower()] == []
    assert not get_user_model().objects.filter(email="newhire@example.com").exists()
    assert not Membership.objects.filter(user__email="newhire@example.com").exists()

    # when the address's holder joins A with a password of their own, and A's owner removes them
    holder = Client()
    holder.post(link_a, {"first_name": "New", "last_name": "Hire", "password1": NEW_PASSWORD,
                         "password2": NEW_PASSWORD})
    membership = Membership.objects.get(clinic=clinic_a, user__email="newhire@example.com")
    harley.post(staff_url(clinic_a, "settings:staff_remove", membership_id=membership.pk))
    # and clinic B's owner invites the same address as a manager
    brooklyn = client_for(owner_b)
    response, link_b = invite(brooklyn, clinic_b, "newhire@example.com", "manager")

    # then B's owner learns nothing about the login that exists, and nothing is granted yet
    assert "Invitation sent to newhire@example.com" in response.content.decode()
    assert not Membership.objects.filter(clinic=clinic_b, user__email="newhire@example.com").exists()
    # and A's owner, holding B's link, cannot accept it with their own login
    refused = harley.post(link_b)
    assert "This invitation is for newhire@example.com" in refused.content.decode()
    assert not Membership.objects.filter(clinic=clinic_b, user__email="newhire@example.com").exists()
    # nor can anyone join B through the link by setting a password for the existing login
    Client().post(link_b, {"first_name": "X", "password1": "another-passphrase-9", "password2": "another-passphrase-9"})
    assert not Membership.objects.filter(clinic=clinic_b, user__email="newhire@example.com").exists()
    assert get_user_model().objects.get(email="newhire@example.com").check_password(NEW_PASSWORD)
    # only the holder, signed in with their own password, joins B
    assert holder.post(link_b).status_code == 302
    assert Membership.objects.get(clinic=clinic_b, user__email="newhire@example.com").role == Role.MANAGER


def test_no_staff_page_or_message_ever_shows_a_password(clinic_a, owner_client, invite):
    response, link = invite(owner_client, clinic_a, "quiet@example.com")
    Client().post(link, {"first_name": "Q", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    page = owner_client.get(staff_url(clinic_a)).content.decode()
    assert NEW_PASSWORD not in page and NEW_PASSWORD not in response.content.decode()
    assert all(NEW_PASSWORD not in message.body for message in mail.outbox)


# --- invitations -------------------------------------------------------------------------------


def test_an_invitation_joins_with_a_new_login_and_signs_in(clinic_a, owner_client, invite):
    # given an invitation to a new address
    _, link = invite(owner_client, clinic_a, "Ann.New@Example.com", "manager")
    new_person = Client()
    # when its holder opens the link, then sets a name and password
    page = new_person.get(link)
    assert page.status_code == 200 and "Create my login and join" in page.content.decode()
    response = new_person.post(link, {"first_name": "Ann", "last_name": "New", "password1": NEW_PASSWORD,
                                      "password2": NEW_PASSWORD})
    # then they are signed in to the clinic with the invited role, and the log says so
    assert response.status_code == 302 and response["Location"] == f"/c/{clinic_a.slug}/"
    assert new_person.get(response["Location"]).status_code == 200
    member = Membership.objects.get(clinic=clinic_a, user__email="ann.new@example.com")
    assert member.role == Role.MANAGER
    assert [(a, e) for a, e, _ in log_of(clinic_a)][-2:] == [(StaffAction.INVITED, "ann.new@example.com"),
                                                              (StaffAction.JOINED, "ann.new@example.com")]


def test_a_weak_password_is_refused_on_the_invitation_page(clinic_a, owner_client, invite):
    _, link = invite(owner_client, clinic_a, "weak@example.com")
    response = Client().post(link, {"first_name": "W", "password1": "12345678", "password2": "12345678"})
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert not get_user_model().objects.filter(email="weak@example.com").exists()


def test_a_used_link_is_refused_with_a_clear_page(clinic_a, owner_client, invite):
    _, link = invite(owner_client, clinic_a, "once@example.com")
    Client().post(link, {"first_name": "O", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    again = Client().get(link)
    assert again.status_code == 410
    assert "already been used" in again.content.decode()


def test_an_expired_link_is_refused_with_a_clear_page(clinic_a, owner_client, invite, settings):
    _, link = invite(owner_client, clinic_a, "late@example.com")
    with time_machine.travel(timezone.now() + timedelta(days=settings.STAFF_INVITATION_DAYS, minutes=1)):
        response = Client().post(link, {"first_name": "L", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 410
    assert "has expired" in response.content.decode()
    assert not get_user_model().objects.filter(email="late@example.com").exists()


def test_a_revoked_link_stops_working(clinic_a, owner_client, invite):
    _, link = invite(owner_client, clinic_a, "nope@example.com")
    invitation = StaffInvitation.objects.get(email="nope@example.com")
    owner_client.post(staff_url(clinic_a, "settings:staff_invitation_revoke", invitation_id=invitation.pk))
    response = Client().get(link)
    assert response.status_code == 410 and "withdrawn" in response.content.decode()


def test_resending_sends_a_new_link_and_the_old_one_stops_working(clinic_a, owner_client, invite,
                                                                  django_capture_on_commit_callbacks):
    _, old_link = invite(owner_client, clinic_a, "again@example.com")
    invitation = StaffInvitation.objects.get(email="again@example.com")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(staff_url(clinic_a, "settings:staff_invitation_resend", invitation_id=invitation.pk))
    new_link = LINK.search(mail.outbox[0].body).group(1)
    assert new_link != old_link
    assert Client().get(old_link).status_code == 404
    assert Client().get(new_link).status_code == 200


def test_an_address_with_a_login_accepts_by_signing_in(clinic_a, clinic_b, owner_b, client_for, invite):
    # given someone who already works at clinic A, invited to clinic B
    person = make_staff(clinic_a, Role.STAFF, email="both@example.com")
    _, link = invite(client_for(owner_b), clinic_b, "both@example.com", "viewer")
    # when they open the link signed out
    page = Client().get(link).content.decode()
    # then they are asked to sign in, not to set a password
    assert "Sign in to accept" in page and "password1" not in page
    # and once signed in, accepting adds clinic B with their password unchanged
    client = Client()
    client.login(username="both@example.com", password=PASSWORD)
    assert client.post(link).status_code == 302
    assert Membership.objects.get(clinic=clinic_b, user=person).role == Role.VIEWER
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


def test_an_unknown_token_is_a_not_found_page():
    response = Client().get("/accounts/invitations/not-a-real-token/")
    assert response.status_code == 404 and "not a valid invitation" in response.content.decode()


def test_inviting_a_member_again_says_so_and_changes_nothing(clinic_a, owner_client, staff_a, invite):
    response, link = invite(owner_client, clinic_a, staff_a.email.upper(), "owner")
    assert f"{staff_a.email} is already a member (Staff). Nothing changed." in response.content.decode()
    assert link is None
    assert Membership.objects.get(clinic=clinic_a, user=staff_a).role == Role.STAFF


def test_inviting_an_open_invitation_again_says_so(clinic_a, owner_client, invite):
    invite(owner_client, clinic_a, "twice@example.com", "viewer")
    response, link = invite(owner_client, clinic_a, "twice@example.com", "owner")
    assert "already has an open invitation" in response.content.decode() and link is None
    assert StaffInvitation.objects.get(email="twice@example.com").role == Role.VIEWER


def test_the_answer_to_an_invite_does_not_depend_on_a_login_elsewhere(clinic_a, clinic_b, owner_client, invite):
    make_staff(clinic_b, Role.STAFF, email="elsewhere@example.com")
    known, _ = invite(owner_client, clinic_a, "elsewhere@example.com")
    unknown, _ = invite(owner_client, clinic_a, "nowhere@example.com")
    assert [m.replace("elsewhere", "X") for m in messages_on(known)] == \
        [m.replace("nowhere", "X") for m in messages_on(unknown)]


def test_viewers_and_other_roles_cannot_invite(clinic_a, client_for, staff_a):
    response = client_for(staff_a).post(staff_url(clinic_a), {"email": "x@example.com", "role": "owner"})
    assert response.status_code == 403
    assert not StaffInvitation.objects.exists()


# --- role changes and removal are confirmed --------------------------------------------------------


def test_a_role_change_is_confirmed_on_its_own_page_first(clinic_a, owner_client, staff_a):
    membership = Membership.objects.get(clinic=clinic_a, user=staff_a)
    url = staff_url(clinic_a, "settings:staff_role", membership_id=membership.pk)
    # when the owner picks a role (the select submits nothing by itself)
    page = owner_client.get(url, {"role": "manager"})
    # then a page states what it means, and nothing changed yet
    assert page.status_code == 200
    assert "They will work with patients, offers and promos, and see every report" in page.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.STAFF
    # and only its own button changes the role, into the log
    owner_client.post(url, {"role": "manager"})
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER
    assert log_of(clinic_a)[-1] == (StaffAction.ROLE_CHANGED, staff_a.email,
                                    {"before": "staff", "after": "manager"})


def test_removal_is_confirmed_and_logged(clinic_a, owner_client, staff_a):
    membership = Membership.objects.get(clinic=clinic_a, user=staff_a)
    url = staff_url(clinic_a, "settings:staff_remove", membership_id=membership.pk)
    page = owner_client.get(url).content.decode()
    assert "They can no longer sign in to" in page
    assert Membership.objects.filter(pk=membership.pk).exists()
    owner_client.post(url)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert get_user_model().objects.filter(pk=staff_a.pk).exists()  # the login itself stays
    assert log_of(clinic_a)[-1] == (StaffAction.REMOVED, staff_a.email, {"role": "staff"})


def test_the_last_owner_is_told_and_cannot_be_demoted_or_removed(clinic_a, owner_a, owner_client):
    membership = Membership.objects.get(clinic=clinic_a, user=owner_a)
    page = owner_client.get(staff_url(clinic_a, "settings:staff_role", membership_id=membership.pk),
                            {"role": "viewer"}).content.decode()
    assert "only owner" in page and "Make viewer" not in page
    owner_client.post(staff_url(clinic_a, "settings:staff_remove", membership_id=membership.pk))
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


# --- the staff log ------------------------------------------------------------------------------


def test_the_staff_page_shows_the_log(clinic_a, owner_client, invite):
    invite(owner_client, clinic_a, "logged@example.com", "viewer")
    page = owner_client.get(staff_url(clinic_a)).content.decode()
    assert "Invited" in page and "logged@example.com" in page


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["UPDATE {table} SET subject_email = 'x'", "DELETE FROM {table}"])
def test_the_staff_log_refuses_update_and_delete_in_the_database(clinic_a, owner_client, invite, statement):
    invite(owner_client, clinic_a, "kept@example.com")
    with clinic_scope(clinic_a.pk), pytest.raises(Exception) as raised, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement.format(table=StaffActivity._meta.db_table))
    assert "append-only" in str(raised.value)
    assert log_of(clinic_a)[-1][1] == "kept@example.com"


def test_only_one_open_invitation_per_address_and_clinic(clinic_a, owner_a):
    StaffInvitation.objects.create(clinic=clinic_a, email="one@example.com", role="staff", token_hash="a" * 64,
                                   expires_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffInvitation.objects.create(clinic=clinic_a, email="one@example.com", role="staff", token_hash="b" * 64,
                                       expires_at=timezone.now())
