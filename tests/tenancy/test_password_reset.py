"""Staff reset a forgotten password by e-mail, with Django's validators; the staff log keeps it (CORE-2)."""

import re

import pytest
from django.core import mail
from django.test import Client

from clinic_crm.tenancy.choices import StaffAction
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import StaffActivity
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW = "a-brand-new-passphrase-42"


@pytest.fixture
def ask_reset(django_capture_on_commit_callbacks):
    def _ask(email):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            return Client().post("/accounts/password-reset/", {"email": email}, follow=True)

    return _ask


def reset_link(message) -> str:
    return re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)


def test_a_forgotten_password_is_reset_through_the_e_mailed_link(clinic_a, owner_a, ask_reset):
    # given the owner asks for a reset
    page = ask_reset(owner_a.email.upper())
    assert "Check your e-mail" in page.content.decode()
    assert [m.to for m in mail.outbox] == [[owner_a.email]]
    # when they open the link and choose a new password
    client = Client()
    form = client.get(reset_link(mail.outbox[0]), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True)
    # then they are sent to sign in, the new password works and the old one does not
    assert "Your password is set" in done.content.decode()
    assert Client().login(username=owner_a.email, password=NEW)
    assert not Client().login(username=owner_a.email, password=PASSWORD)
    # and the clinic's staff log has it
    with clinic_scope(clinic_a.pk):
        assert StaffActivity.objects.filter(action=StaffAction.PASSWORD_RESET, subject_email=owner_a.email).exists()


def test_an_unknown_address_gets_the_same_page_and_no_mail(ask_reset):
    page = ask_reset("nobody@example.com")
    assert "Check your e-mail" in page.content.decode()
    assert mail.outbox == []


def test_the_link_works_once(owner_a, ask_reset):
    ask_reset(owner_a.email)
    link = reset_link(mail.outbox[0])
    client = Client()
    form = client.get(link, follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    again = Client().get(link, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_a_weak_new_password_is_refused(owner_a, ask_reset):
    ask_reset(owner_a.email)
    client = Client()
    form = client.get(reset_link(mail.outbox[0]), follow=True)
    response = client.post(form.redirect_chain[-1][0], {"new_password1": "password", "new_password2": "password"})
    assert response.status_code == 200 and "This password is too common." in response.content.decode()


def test_reset_mails_are_limited_per_address(owner_a, ask_reset, django_capture_on_commit_callbacks):
    sent = 0
    for _ in range(5):
        ask_reset(owner_a.email)
        sent += len(mail.outbox)
    assert sent == 3
