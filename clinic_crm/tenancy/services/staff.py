"""Writes on a clinic's staff: invitations, joining, roles, removal, and the staff log (CORE-2).

A login is shared by every clinic it belongs to, so no clinic may hand one out or take one over:
an owner invites an address, and only the holder of that address, with a password of their
own, joins. Nothing here ever returns or logs a password.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from clinic_crm.common.emails import normalise_email
from clinic_crm.common.errors import Conflict, Forbidden
from clinic_crm.common.queueing import enqueue_on_commit
from clinic_crm.tenancy.choices import Role, StaffAction
from clinic_crm.tenancy.events import OPERATOR, StaffActor, record_staff_event
from clinic_crm.tenancy.models import Clinic, Membership, StaffInvitation

LinkFor = Callable[[str], str]  # an invitation's token -> the absolute URL of its page


@dataclass(frozen=True)
class InvitationOutcome:
    """What `invite_staff` did: "invited", or nothing because the address is "already_member" or
    "already_invited" (an open invitation stands; resend it instead)."""

    status: str
    invitation: StaffInvitation | None = None
    membership: Membership | None = None


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, _token_hash(token)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_login(email: str):
    """The login whose e-mail is `email` under `normalise_email`, or None (the oldest, if several)."""
    key = normalise_email(email)
    candidates = get_user_model().objects.filter(email__iexact=email.strip()).order_by("id")
    return next((user for user in candidates if normalise_email(user.email) == key), None)


def _member_by_email(clinic: Clinic, email: str) -> Membership | None:
    key = normalise_email(email)
    candidates = Membership.objects.filter(clinic=clinic, user__email__iexact=email).select_related("user")
    return next((m for m in candidates if normalise_email(m.user.email) == key), None)


def _send_invitation(invitation: StaffInvitation, token: str, link_for: LinkFor, inviter: StaffActor) -> None:
    from clinic_crm.tenancy.tasks import send_staff_invitation_email

    link = link_for(token)
    values = dict(email=invitation.email, clinic_name=invitation.clinic.name, role=invitation.get_role_display(),
                  inviter=inviter.name, link=link, expires_at=invitation.expires_at.isoformat())
    enqueue_on_commit(send_staff_invitation_email, **values)


def _open_with_new_token(invitation: StaffInvitation) -> str:
    token, invitation.token_hash = _new_token()
    invitation.expires_at = timezone.now() + timedelta(days=settings.STAFF_INVITATION_DAYS)
    return token


@transaction.atomic
def invite_staff(*, clinic: Clinic, email: str, role: str, actor: StaffActor, link_for: LinkFor) -> InvitationOutcome:
    """Invite an address to a role; it grants nothing until its holder accepts (CORE-2).

    The answer never depends on whether the address has a login somewhere: only on this clinic's
    own members and invitations.
    """
    email = normalise_email(email)
    Role(role)  # ValueError on an unknown role
    member = _member_by_email(clinic, email)
    if member is not None:
        return InvitationOutcome("already_member", membership=member)
    invitation = (StaffInvitation.objects.select_for_update().select_related("clinic")
                  .filter(clinic=clinic, email=email, accepted_at__isnull=True, revoked_at__isnull=True).first())
    if invitation is not None and invitation.is_usable():
        return InvitationOutcome("already_invited", invitation=invitation)
    if invitation is None:
        invitation = StaffInvitation(clinic=clinic, email=email)
    # A lapsed invitation to the same address is renewed rather than kept beside a new one.
    invitation.role = role
    invitation.invited_by_id = actor.id
    token = _open_with_new_token(invitation)
    invitation.full_clean()
    invitation.save()
    record_staff_event(clinic=clinic, actor=actor, action=StaffAction.INVITED, subject_email=email,
                       details={"role": role})
    _send_invitation(invitation, token, link_for, actor)
    return InvitationOutcome("invited", invitation=invitation)


@transaction.atomic
def resend_invitation(*, invitation: StaffInvitation, actor: StaffActor, link_for: LinkFor) -> StaffInvitation:
    """Send an open invitation again with a new link; the earlier link stops working (CORE-2)."""
    invitation = StaffInvitation.objects.select_for_update().select_related("clinic").get(pk=invitation.pk)
    if not invitation.is_open:
        raise Conflict("This invitation was already accepted or revoked.", code="invitation_closed")
    token = _open_with_new_token(invitation)
    invitation.save(update_fields=["token_hash", "expires_at", "updated_at"])
    record_staff_event(clinic=invitation.clinic, actor=actor, action=StaffAction.INVITATION_RESENT,
                       subject_email=invitation.email, details={"role": invitation.role})
    _send_invitation(invitation, token, link_for, actor)
    return invitation


@transaction.atomic
def revoke_invitation(*, invitation: StaffInvitation, actor: StaffActor) -> StaffInvitation:
    """Withdraw an open invitation: its link stops working (CORE-2)."""
    invitation = StaffInvitation.objects.select_for_update().select_related("clinic").get(pk=invitation.pk)
    if invitation.is_open:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        record_staff_event(clinic=invitation.clinic, actor=actor, action=StaffAction.INVITATION_REVOKED,
                           subject_email=invitation.email, details={"role": invitation.role})
    return invitation


def get_invitation_by_token(token: str) -> StaffInvitation | None:
    """The invitation a link's token names, whatever its state, or None."""
    if not token or len(token) > 100:
        return None
    return (StaffInvitation.objects.select_related("clinic", "invited_by")
            .filter(token_hash=_token_hash(token)).first())


def ensure_invitation_usable(invitation: StaffInvitation) -> None:
    """Refuse a link that was used, revoked or has lapsed, saying which (CORE-2)."""
    if invitation.accepted_at is not None:
        raise Conflict("This invitation has already been used. Sign in to reach the clinic.", code="invitation_used")
    if invitation.revoked_at is not None:
        raise Conflict("This invitation was withdrawn. Ask the clinic's owner for a new one.",
                       code="invitation_revoked")
    if not invitation.is_usable():
        raise Conflict("This invitation has expired. Ask the clinic's owner to send it again.",
                       code="invitation_expired")


@transaction.atomic
def accept_invitation(*, invitation: StaffInvitation, user) -> Membership:
    """Join the clinic with a login its holder is signed in with; the address must be the invited one."""
    invitation = StaffInvitation.objects.select_for_update().select_related("clinic").get(pk=invitation.pk)
    ensure_invitation_usable(invitation)
    if normalise_email(user.email) != invitation.email:
        raise Forbidden(f"This invitation is for {invitation.email}. Sign in with that address to accept it.",
                        code="invitation_other_login")
    membership, _ = Membership.objects.get_or_create(user=user, clinic=invitation.clinic,
                                                     defaults={"role": invitation.role})
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    record_staff_event(clinic=invitation.clinic, actor=StaffActor.of(user), action=StaffAction.JOINED,
                       subject_email=user.email, details={"role": membership.role})
    return membership


@transaction.atomic
def join_with_new_login(*, invitation: StaffInvitation, password: str, first_name: str = "",
                        last_name: str = ""):
    """Create the invited address's login with the holder's own password and join (CORE-2).

    An address that already has a login joins by signing in with it instead (accept_invitation):
    an invitation never sets the password of a login that exists.
    """
    invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
    ensure_invitation_usable(invitation)
    if find_login(invitation.email) is not None:
        raise Conflict("This address already has a login. Sign in with it to accept the invitation.",
                       code="login_exists")
    User = get_user_model()
    user = User(username=invitation.email, email=invitation.email, first_name=first_name.strip(),
                last_name=last_name.strip())
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    accept_invitation(invitation=invitation, user=user)
    return user


@transaction.atomic
def create_staff(*, clinic: Clinic, email: str, role: str, first_name: str = "", last_name: str = "",
                 password: str | None = None) -> tuple[Membership, str | None]:
    """The platform operator's command: give a login a role, creating the login if needed (CORE-10).

    For operators at a terminal only; clinics invite (`invite_staff`). Returns the membership
    and, when a new login was made without a password, the generated one, for the terminal.
    """
    from django.utils.crypto import get_random_string

    User = get_user_model()
    email = normalise_email(email)
    Role(role)  # ValueError on an unknown role
    user = find_login(email)
    generated = None
    if user is None:
        generated = None if password else get_random_string(14)
        user = User(username=email, email=email, first_name=first_name, last_name=last_name)
        user.set_password(password or generated)
        user.full_clean()
        user.save()
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    membership, created = Membership.objects.get_or_create(user=user, clinic=clinic, defaults={"role": role})
    if created:
        record_staff_event(clinic=clinic, actor=OPERATOR, action=StaffAction.ADDED, subject_email=user.email,
                           details={"role": role})
    elif membership.role != role:
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
        record_staff_event(clinic=clinic, actor=OPERATOR, action=StaffAction.ROLE_CHANGED, subject_email=user.email,
                           details={"before": before, "after": role})
    return membership, generated


@transaction.atomic
def change_staff_role(*, membership: Membership, role: str, actor: StaffActor = OPERATOR) -> Membership:
    """Change a member's role; a clinic always keeps at least one owner (CORE-2)."""
    Role(role)
    membership = Membership.objects.select_for_update().select_related("user", "clinic").get(pk=membership.pk)
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER:
        _ensure_another_owner(membership)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    record_staff_event(clinic=membership.clinic, actor=actor, action=StaffAction.ROLE_CHANGED,
                       subject_email=membership.user.email, details={"before": before, "after": role})
    return membership


@transaction.atomic
def remove_staff(*, membership: Membership, actor: StaffActor = OPERATOR) -> None:
    """Take a login's access to this clinic away; its other clinics and the login are untouched (CORE-2)."""
    membership = Membership.objects.select_for_update().select_related("user", "clinic").get(pk=membership.pk)
    if membership.role == Role.OWNER:
        _ensure_another_owner(membership)
    record_staff_event(clinic=membership.clinic, actor=actor, action=StaffAction.REMOVED,
                       subject_email=membership.user.email, details={"role": membership.role})
    membership.delete()


def _ensure_another_owner(membership: Membership) -> None:
    owners = Membership.objects.select_for_update().filter(clinic_id=membership.clinic_id, role=Role.OWNER)
    if not owners.exclude(pk=membership.pk).exists():
        raise Conflict("A clinic needs at least one owner. Make someone else owner first.", code="last_owner")


@transaction.atomic
def record_password_change(*, user, action: str = StaffAction.PASSWORD_RESET) -> None:
    """Write a login's password reset or change into the staff log of every clinic it belongs to."""
    for membership in Membership.objects.filter(user=user).select_related("clinic"):
        record_staff_event(clinic=membership.clinic, actor=StaffActor.of(user), action=action,
                           subject_email=user.email)
