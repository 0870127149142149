"""Money is Decimal with a currency; formatting goes through Babel's CLDR data."""

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_symbol

CURRENCY_LOCALES = {"GBP": "en_GB", "USD": "en_US", "EUR": "en_IE", "CAD": "en_CA", "AUD": "en_AU"}
CURRENCY_CHOICES = [(code, f"{code} ({get_currency_symbol(code, locale=loc)})") for code, loc in CURRENCY_LOCALES.items()]
CENT = Decimal("0.01")


def quantize(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "–"
    return format_currency(quantize(amount), currency, locale=CURRENCY_LOCALES.get(currency, "en_GB"))
