"""Writes on coupon cards: their templates, the cards, and talking with their holders. The public names, by module."""

from coupons.services.cards import (  # noqa: F401
    CardRedemption,
    Stamping,
    add_stamp,
    change_card_expiration,
    custom_field_errors,
    delete_card,
    ensure_card_usable,
    expiry_for,
    install_card,
    issue_card,
    issue_referral_card,
    redeem_card,
)
from coupons.services.engagement import (  # noqa: F401
    cancel_card_push,
    leave_feedback,
    schedule_card_push,
    send_card_push,
)
from coupons.services.templates import create_card_template, update_card_template  # noqa: F401
from coupons.services.wallet import configure_wallet_pass, remove_wallet_pass  # noqa: F401
