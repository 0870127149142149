"""Writes on the tenancy registry: clinics, staff and API keys. The public names, by module."""

from clinic_crm.tenancy.services.api_keys import create_api_key, revoke_api_key  # noqa: F401
from clinic_crm.tenancy.services.clinics import (  # noqa: F401
    clinic_created_hooks,
    create_clinic,
    regenerate_app_key,
    set_onesignal_credentials,
    update_clinic,
)
from clinic_crm.tenancy.services.staff import (  # noqa: F401
    InvitationOutcome,
    accept_invitation,
    change_staff_role,
    create_staff,
    get_invitation_by_token,
    invite_staff,
    join_with_new_login,
    record_password_change,
    remove_staff,
    resend_invitation,
    revoke_invitation,
)
