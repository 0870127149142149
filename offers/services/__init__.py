"""Writes on offers. Lifecycle here; occasion firing in automation.py; redeeming in redemption.py."""

from offers.services.automation import (  # noqa: F401
    fire_automated_offer,
    fire_due_occasions,
    list_birthday_patients,
)
from offers.services.lifecycle import (  # noqa: F401
    activate_automated_offer,
    activate_offer,
    configure_automated_offer,
    create_offer,
    deactivate_automated_offer,
    deactivate_offer,
    delete_offer,
    ensure_offer_pushable,
    publish_automated_offer,
    publish_offer,
    refuse_automated_delete,
    send_offer_push,
    unpublish_automated_offer,
    unpublish_offer,
    update_offer,
)
from offers.services.redemption import (  # noqa: F401
    TillRedemption,
    ensure_offer_redeemable,
    get_offer_by_promotion_key,
    is_offer_redeemable,
    redeem_offer_at_till,
    redeem_offer_in_app,
)
