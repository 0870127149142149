"""Writes on the redemption ledger and on offer responses. The public names, by module."""

from redemptions.services.counts import compact_tallies, record_assignments  # noqa: F401
from redemptions.services.ledger import (  # noqa: F401
    PromotionSnapshot,
    apply_redemption,
    lock_pending_redemption,
    record_pending_redemption,
)
from redemptions.services.responses import (  # noqa: F401
    SYSTEM,
    Actor,
    ResponseTerms,
    assign_response,
    assign_responses,
    complete_response,
    ensure_usable_at_pos,
    expire_due_responses,
    lock_held_response,
    transition_response,
)
