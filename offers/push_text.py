"""Push texts of offers: the placeholders they may use, and a check that the figure a text names is the
offer's own discount (a Birthday push saying "10% off" for a 15% offer is caught before it is sent)."""

from __future__ import annotations

import re
import string
from decimal import Decimal, InvalidOperation

from clinic_crm.common.choices import DiscountType
from notifications.backends.base import FIRST_NAME, FIRST_NAME_FALLBACK

PLACEHOLDERS = {
    "discount": "the offer's discount, e.g. “15% off”",
    "clinic": "the clinic's name",
    # Filled in per recipient by the push provider, so it stays a placeholder here.
    "first_name": f"the patient's first name (“{FIRST_NAME_FALLBACK}” when the app has not told OneSignal)",
}
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s?%")
_AMOUNT = re.compile(r"[£$€]\s?(\d[\d,]*(?:\.\d{1,2})?)")


def unknown_placeholders(text: str) -> list[str]:
    """Placeholders in `text` that are not ours ("{name}"), or a stray brace; empty when it is fine."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(text or "") if field is not None]
    except ValueError:
        return ["a lone { or }"]
    return [f"{{{name}}}" for name in names if name not in PLACEHOLDERS]


def render_push_text(text: str, *, discount_label: str, clinic_name: str) -> str:
    """The text as patients read it, with {discount} and {clinic} filled in; {first_name} is left for the push
    provider to fill in for each recipient."""
    if not text or "{" not in text:
        return text
    if unknown_placeholders(text):
        return text  # sent as written rather than not at all; the form refuses these
    # "20% Off" reads "20% off" inside a sentence; "Free Treatment" reads "a free treatment".
    words = discount_label.replace(" Off", " off").replace("Free Treatment", "a free treatment")
    return text.format(discount=words, clinic=clinic_name, first_name=FIRST_NAME)


def _number(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None


def mismatched_figures(text: str, *, discount_type: str, discount_value) -> list[str]:
    """The figures `text` names that differ from the discount ("10%" for a 15% offer); empty when none.

    Only figures of the discount's own kind are compared: a percentage for a percent discount, an
    amount for an amount. Placeholders say the right figure by themselves.
    """
    if discount_value is None or not text:
        return []
    value = Decimal(discount_value)
    pattern = {DiscountType.PERCENT: _PERCENT, DiscountType.AMOUNT: _AMOUNT}.get(discount_type)
    if pattern is None:
        return []
    found = []
    for match in pattern.finditer(text):
        number = _number(match.group(1))
        if number is not None and number != value:
            found.append(match.group(0).strip())
    return found
