"""What every dashboard page's frame needs: the clinic, the user's role and the clinic switcher."""

from clinic_crm.tenancy.choices import role_at_least
from clinic_crm.tenancy.selectors import list_memberships_of_user, list_owner_names


def clinic(request):
    current = getattr(request, "clinic", None)
    if current is None or not request.user.is_authenticated:
        return {}
    membership = request.membership
    read_only = not role_at_least(membership.role, "staff")
    return {
        "read_only": read_only,
        # A viewer is told who can make changes, once per page, instead of meeting missing buttons.
        "owner_names": list_owner_names(clinic=current) if read_only else [],
        "clinic": current,
        "membership": membership,
        "memberships": list_memberships_of_user(user=request.user),
        "can_write": role_at_least(membership.role, "staff"),
        "can_manage": role_at_least(membership.role, "manager"),
        "is_owner": role_at_least(membership.role, "owner"),
    }
