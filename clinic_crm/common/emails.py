"""E-mail addresses as the app compares them."""

import unicodedata


def normalise_email(address: str) -> str:
    """One form for every spelling that names the same address to us: Unicode NFKC and case
    folding, so look-alikes (full-width letters, `ſ`, `K` as the Kelvin sign) and case collapse
    into one key for lookups and rate limits."""
    return unicodedata.normalize("NFKC", address or "").strip().casefold()
