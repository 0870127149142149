"""Template filters that build text from what users typed never let it through as markup."""

import pytest
from django.template import Context, Template

from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.services import update_clinic
from tests.conftest import make_staff


@pytest.mark.parametrize("name,expected", [("Ann Lee", "AL"), ("<Script alert", "&lt;A"), ('"Quote &Co', "&quot;&amp;"),
                                           ("", "?")])
def test_initials_are_escaped_like_any_other_text(name, expected):
    assert Template("{{ name|initials }}").render(Context({"name": name})) == expected


@pytest.mark.django_db
def test_a_clinic_named_with_markup_shows_as_text_on_another_clinics_pages(clinic_a, clinic_b, client_for):
    # given someone in both clinics, one of which an owner named "<Svg onload" (its initials start with "<S")
    make_staff(clinic_a, Role.OWNER, email="both@example.com")
    user = make_staff(clinic_b, Role.VIEWER, email="both@example.com")
    update_clinic(clinic=clinic_b, data={"name": "<Svg onload=alert(1)> Dental"})
    # when they open clinic A's dashboard, whose clinic switcher lists B
    response = client_for(user).get(f"/c/{clinic_a.slug}/")
    assert response.status_code == 200
    page = response.content.decode()
    # then B's name and its initials ("<O") are text, not markup
    assert "<Svg" not in page and "<O" not in page
    assert "&lt;Svg onload=alert(1)&gt; Dental" in page and "&lt;O" in page
