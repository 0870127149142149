"""Memberships and API keys carry a clinic but are not behind row-level security: they are read to learn which
clinic a request belongs to (a login's clinics, a key's clinic), before any clinic is in scope. So every read
of them is listed here with how it is narrowed: to one login, one key prefix, or the clinic of the request.
A new read fails this test until it is added, with its reason, after a look at what it can list.

The behaviour behind each reason is tested elsewhere: another clinic's staff and keys never show on a
clinic's Settings pages or APIs (test_isolation.py), a login's chooser lists only its own clinics
(test_views.py), a key works only for its own clinic (test_auth_apis.py).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["clinic_crm", "offers", "promos", "coupons", "redemptions", "notifications"]
MODELS = {"Membership", "ApiKey"}

# (file, function) -> how its read is narrowed
NARROWED = {
    ("clinic_crm/tenancy/auth.py", "_read_api_key_rows"): "one key, by its prefix (its hash is compared next)",
    ("clinic_crm/tenancy/auth.py", "_note_key_used"): "one key, by its primary key, already authenticated",
    ("clinic_crm/tenancy/auth.py", "authenticate"): "the token's login in the token's clinic",
    ("clinic_crm/tenancy/apis.py", "post"): "the signing-in login's membership of the clinic it named",
    ("clinic_crm/tenancy/selectors.py", "list_memberships_of_user"): "one login's own clinics",
    ("clinic_crm/tenancy/selectors.py", "get_membership"): "one login in one clinic",
    ("clinic_crm/tenancy/selectors.py", "list_staff"): "the clinic of the request",
    ("clinic_crm/tenancy/selectors.py", "list_api_keys"): "the clinic of the request",
    ("clinic_crm/tenancy/selectors.py", "list_owner_names"): "the clinic of the request",
    ("clinic_crm/tenancy/selectors.py", "count_owners"): "the clinic of the request",
    ("clinic_crm/tenancy/services/staff.py", "_member_by_email"): "the inviting clinic, one e-mail",
    ("clinic_crm/tenancy/services/staff.py", "accept_invitation"): "the invitation's clinic and the accepting login",
    ("clinic_crm/tenancy/services/staff.py", "create_staff"): "one login in one clinic (operator command)",
    ("clinic_crm/tenancy/services/staff.py", "change_staff_role"): "one membership, found in the request's clinic",
    ("clinic_crm/tenancy/services/staff.py", "remove_staff"): "one membership, found in the request's clinic",
    ("clinic_crm/tenancy/services/staff.py", "_ensure_another_owner"): "the owners of the membership's own clinic",
    ("clinic_crm/tenancy/services/staff.py", "record_password_change"): "one login's own clinics (their staff logs)",
    ("clinic_crm/tenancy/two_factor.py", "clinics_requiring"): "one login's own clinics",
    ("clinic_crm/tenancy/two_factor.py", "_log"): "one login's own clinics (their staff logs)",
    ("clinic_crm/tenancy/views.py", "api_key_revoke"): "the clinic of the request",
    ("clinic_crm/tenancy/views.py", "_membership"): "the clinic of the request",
    ("clinic_crm/dashboard/management/commands/seed_demo.py", "handle"): "the demo clinic it is seeding",
}


@functools.cache
def reads() -> frozenset[tuple[str, str]]:
    """(file, enclosing function) of every `Membership.objects` / `ApiKey.objects` in the apps' code."""
    found = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for function in ast.walk(tree):
                if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for node in ast.walk(function):
                    if (isinstance(node, ast.Attribute) and node.attr in ("objects", "_default_manager")
                            and isinstance(node.value, ast.Name) and node.value.id in MODELS):
                        found.add((str(path.relative_to(ROOT)), function.name))
    return frozenset(found)


def test_every_read_of_memberships_and_api_keys_is_narrowed_and_listed():
    found = reads()

    unlisted = sorted(found - set(NARROWED))
    assert not unlisted, ("a new read of Membership or ApiKey: narrow it to a login, a key or the request's "
                          f"clinic, then list it in NARROWED with how: {unlisted}")


@pytest.mark.parametrize("listed", sorted(NARROWED))
def test_each_listed_read_still_exists(listed):
    assert listed in reads(), f"{listed} no longer reads memberships or keys: drop it from NARROWED"
