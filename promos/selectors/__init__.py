"""Reads for Marketing → Promos: the list and its segments, a promo's metrics and activity, the comparison
across promos and the portfolio over time (PRO-4, PRO-6, PRO-7, PRO-8).

Every figure comes from the redemption ledger (applied rows) and the orders they were applied to, summed
in SQL, so a page costs the same few queries whether a promo was used three times or thirty thousand.

The list and discount wording in listing.py; the patient app's banners in app.py; a promo's detail page in
detail.py; the comparison and the portfolio in reports.py; the ledger they share in ledger.py.
"""

from promos.selectors.app import list_app_promos  # noqa: F401
from promos.selectors.detail import (  # noqa: F401
    CHOICE_LABELS,
    FIELD_LABELS,
    MONEY_FIELDS,
    TIER_MIRRORED,
    ActivityRow,
    CodeCandidates,
    DiffLine,
    PromoDetail,
    PromoMetrics,
    TierLine,
    count_personal_codes,
    describe_promo_window,
    get_promo_detail,
    get_promo_metrics,
    list_code_candidates,
    list_personal_codes,
    list_promo_activity,
    list_promo_customer_figures,
    list_promo_activity_rows,
    show_logged_value,
)
from promos.selectors.ledger import (  # noqa: F401
    _DISCOUNT,
    _REVENUE,
    MONEY,
    PROMO_KEY_PREFIX,
    ZERO,
    _applied,
)
from promos.selectors.listing import (  # noqa: F401
    PromoList,
    PromoRow,
    Segment,
    count_promo_segments,
    discount_amount_text,
    list_promo_rows,
    list_promos,
    promo_csv_rows,
    tier_range_label,
    tier_summary,
)
from promos.selectors.reports import (  # noqa: F401
    ASCENDING_FIRST,
    COMPARISON_COLUMNS,
    COMPARISON_SORTS,
    ComparisonRow,
    Portfolio,
    PortfolioDay,
    PortfolioPromo,
    get_promo_portfolio,
    list_promo_comparison,
    sort_comparison,
)
