"""Writes on promos: create, edit and lifecycle, personalised codes, and validate/redeem (PRO-1, PRO-2, PRO-3, PRO-5).

Create, edit, lifecycle and personalised codes in lifecycle.py; validate and redeem in redeem.py, whose
docstring keeps the decisions tests and API clients rely on.
"""

from promos.services.lifecycle import (  # noqa: F401
    CODE_ALPHABET,
    CODE_PATTERN,
    EDITABLE_FIELDS,
    PERSONAL_CODE_LENGTH,
    PROMO_FIELDS,
    TRANSITIONS,
    UNUSED_BY_KIND,
    activate_promo,
    archive_promo,
    create_promo,
    export_personal_codes_csv,
    generate_personal_codes,
    pause_promo,
    update_promo,
)
from promos.services.redeem import (  # noqa: F401
    MESSAGES,
    PromoCheck,
    redeem_promo_code,
    validate_promo_code,
)
