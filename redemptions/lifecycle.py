"""The offer response lifecycle (RED-2, seed 003): which status may follow which, and who may move it.

    Pending ─(clip, when the offer requires it)→ Clipped
    Pending or Clipped (whichever is "ready") ─→ Completed, or ─→ Processing → Shipping → Completed
                                                 for offers that ship a physical item
    Pending, Clipped ─→ Expired (the end of validity, without being used)
    Pending, Clipped, Processing ─→ Canceled

Expired, Canceled and Completed are terminal. Nothing else is allowed.
"""

from __future__ import annotations

from redemptions.choices import ActorKind, ResponseStatus as S

TERMINAL = frozenset({S.EXPIRED, S.CANCELED, S.COMPLETED})


def is_ready(status: str, *, clip_required: bool) -> bool:
    """Whether a response in `status` may be used now (clipped, when its offer asks for the clip)."""
    return status == S.CLIPPED or (status == S.PENDING and not clip_required)


def next_statuses(status: str, *, clip_required: bool, ships: bool) -> frozenset[str]:
    """Every status a response in `status` may move to, for its offer's flow."""
    if status in TERMINAL:
        return frozenset()
    allowed = set()
    if status == S.PENDING and clip_required:
        allowed.add(S.CLIPPED)
    if is_ready(status, clip_required=clip_required):
        allowed.add(S.PROCESSING if ships else S.COMPLETED)
    if status == S.PROCESSING:
        allowed.add(S.SHIPPING)
    if status == S.SHIPPING:
        allowed.add(S.COMPLETED)
    if status in (S.PENDING, S.CLIPPED):
        allowed.add(S.EXPIRED)
    if status in (S.PENDING, S.CLIPPED, S.PROCESSING):
        allowed.add(S.CANCELED)
    return frozenset(allowed)


# What each kind of actor may do, beyond what the lifecycle allows: a patient only clips; the point
# of sale completes and cancels; the system only expires; staff may make any allowed move.
ACTOR_MAY = {
    ActorKind.PATIENT: frozenset({S.CLIPPED}),
    ActorKind.POS: frozenset({S.COMPLETED, S.CANCELED}),
    ActorKind.SYSTEM: frozenset({S.EXPIRED}),
    ActorKind.STAFF: frozenset(S.values),
}
