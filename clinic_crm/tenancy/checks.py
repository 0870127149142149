"""`manage.py check --deploy --database default`: the app's database role cannot get past row-level
security (CORE-1). Asked only with `--database`, as Django's own database checks are."""

from django.core.checks import Warning, register
from django.db import connections

TAG = "clinic_crm"


@register(TAG, deploy=True)
def check_app_role_is_rows_only(app_configs=None, databases=None, **kwargs):
    if not databases or "default" not in databases or connections["default"].vendor != "postgresql":
        return []
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper OR rolbypassrls, EXISTS (SELECT FROM pg_tables "
                       "WHERE schemaname = 'public' AND tableowner = current_user) "
                       "FROM pg_roles WHERE rolname = current_user")
        role, bypasses, owns_tables = cursor.fetchone()
    if bypasses:
        why = "is a superuser or has BYPASSRLS: row-level security does not apply to it"
    elif owns_tables:
        why = "owns the tables, so it could switch their row-level security off"
    else:
        return []
    return [Warning(
        f"The app connects to PostgreSQL as {role}, which {why}.",
        hint="Connect as a role with rows only (DATABASE_URL), migrate as the tables' owner with DATABASE_APP_ROLES "
             "naming it, and give Django admin a BYPASSRLS role of its own (PLATFORM_DATABASE_URL). README, Production.",
        id="clinic_crm.W101",
    )]
