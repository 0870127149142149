"""Writes on card templates (COU-1)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from clinic_crm.common.app_changes import app_config_changed_on_commit
from clinic_crm.common.choices import DiscountType
from clinic_crm.tenancy.events import StaffActor
from clinic_crm.tenancy.models import Clinic
from coupons.choices import CardKind
from coupons.models import CardTemplate

TEMPLATE_FIELDS = ["name", "description", "colour", "logo_url", "discount_type", "discount_value", "validity_days",
                   "valid_until", "purchase_amount_required", "linked_template", "stamps_required",
                   "reward_template", "custom_fields"]
FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CUSTOM_FIELDS = 10


# --- templates (COU-1) -----------------------------------------------------------------------------


def _check_template(template: CardTemplate) -> None:
    errors: dict[str, str] = {}
    if template.linked_template_id is not None:
        if template.kind != CardKind.COUPON:
            errors["linked_template"] = "Only a coupon turns into another card once redeemed."
        elif template.linked_template.kind not in (CardKind.STAMP, CardKind.REWARD):
            errors["linked_template"] = "A coupon links to a stamp or a reward card."
    if template.kind == CardKind.STAMP:
        if not template.stamps_required:
            errors["stamps_required"] = "Give how many stamps fill the card."
        if template.reward_template_id is None:
            errors["reward_template"] = "Choose the reward card a full stamp card earns."
        elif template.reward_template.kind != CardKind.REWARD:
            errors["reward_template"] = "The reward of a stamp card is a reward card."
    else:
        template.stamps_required = None
        template.reward_template = None
    if template.validity_days and template.valid_until:
        errors["valid_until"] = "Give the days after issue or a fixed date, not both."
    problem = _custom_fields_problem(template.custom_fields)
    if problem:
        errors["custom_fields"] = problem
    if errors:
        raise ValidationError(errors)
    template.full_clean()


def _custom_fields_problem(definitions) -> str:
    if not isinstance(definitions, list) or len(definitions) > MAX_CUSTOM_FIELDS:
        return f"Give a list of at most {MAX_CUSTOM_FIELDS} fields."
    keys = set()
    for item in definitions:
        if not isinstance(item, dict) or not FIELD_KEY.match(str(item.get("key", ""))):
            return "Each field needs a key of lowercase letters, digits and _ (e.g. favourite_treatment)."
        if not str(item.get("label", "")).strip() or len(str(item["label"])) > 80:
            return "Each field needs a label of up to 80 characters."
        if item["key"] in keys:
            return f"The key {item['key']} is used twice."
        keys.add(item["key"])
    return ""


@transaction.atomic
def create_card_template(*, clinic: Clinic, data: dict, actor: StaffActor | None = None) -> CardTemplate:
    """A new coupon, stamp or reward card design and its rules (COU-1)."""
    template = CardTemplate(clinic=clinic, kind=data.get("kind", CardKind.COUPON))
    if template.kind == CardKind.STAMP and "discount_type" not in data:
        template.discount_type, template.discount_value = DiscountType.FREE_TREATMENT, None  # its reward gives one
    for field in TEMPLATE_FIELDS:
        if field in data:
            setattr(template, field, data[field])
    _check_template(template)
    template.save()
    app_config_changed_on_commit(template.clinic_id)  # the app's config lists card designs
    return template


@transaction.atomic
def update_card_template(*, template: CardTemplate, data: dict, actor: StaffActor | None = None) -> CardTemplate:
    """Edit a card template; cards already issued keep their serial and expiry (COU-1)."""
    template = CardTemplate.objects.select_for_update().get(pk=template.pk)
    if "kind" in data and data["kind"] != template.kind:
        raise ValidationError({"kind": "A card's kind cannot change; create a new card instead."})
    for field in TEMPLATE_FIELDS:
        if field in data:
            setattr(template, field, data[field])
    if template.linked_template_id == template.pk or template.reward_template_id == template.pk:
        raise ValidationError({"linked_template": "A card cannot turn into itself."})
    _check_template(template)
    template.save()
    app_config_changed_on_commit(template.clinic_id)  # the app's config lists card designs
    return template


