"""After `migrate`, the app's and the platform's roles may use every table, and own none (CORE-1).

Migrations run as the role that owns the schema. The roles in DATABASE_APP_ROLES get rows only
(SELECT, INSERT, UPDATE, DELETE, and the sequences behind ids): as non-owners they cannot turn a
table's row-level security off, drop its policy or change its columns.
"""

import logging

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)


def grant_app_roles(using: str, **kwargs) -> None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, EXISTS (SELECT FROM pg_tables "
                       "WHERE schemaname = 'public' AND tableowner = current_user)")
        owner, owns_tables = cursor.fetchone()
        if not owns_tables:  # a flush by the app's own role in tests, say: nothing of its own to grant
            return
        granted = [role for role in dict.fromkeys(settings.DATABASE_APP_ROLES) if role and role != owner]
        for role in granted:
            quoted = connection.ops.quote_name(role)
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
            cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
            logger.info("Granted rows of every table to %s", role)
    if not granted:
        logger.warning("migrate granted no other role the tables of %s, so the app connects as their owner, "
                       "which can switch row-level security off. Migrate as the owner with DATABASE_APP_ROLES "
                       "naming the app's and the platform's roles (README, Production).", owner)
