"""Writes on offers. Lifecycle here; occasion firing in automation.py; redeeming in redemption.py."""

from offers.services.lifecycle import (  # noqa: F401
    activate_automated_offer,
    activate_offer,
    configure_automated_offer,
    create_offer,
    deactivate_automated_offer,
    deactivate_offer,
    delete_offer,
    publish_automated_offer,
    publish_offer,
    refuse_automated_delete,
    unpublish_automated_offer,
    unpublish_offer,
    update_offer,
)
