"""Row locks for promos. Every select_for_update of the app is here, taken in primary-key order."""

from __future__ import annotations

from promos.models import Promo


def lock_promo(*, promo_id: int) -> Promo:
    """Lock one promo's row until the transaction ends: edits and transitions wait for each other
    and for redeems in flight, so a status change never races a counter update."""
    return Promo.objects.select_for_update().get(pk=promo_id)
