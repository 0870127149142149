"""Which connection the ORM uses: the platform one inside `unscoped()`, the app's own everywhere else.

Installed only when PLATFORM_DATABASE_URL is set. The context decides, not where a row was read:
a row read in Django admin and saved later outside `unscoped()` goes through the app's own
connection, under row-level security.
"""

from django.db import DEFAULT_DB_ALIAS

from clinic_crm.tenancy.context import db_alias


class PlatformRouter:
    def db_for_read(self, model, **hints):
        return db_alias()

    def db_for_write(self, model, **hints):
        return db_alias()

    def allow_relation(self, obj1, obj2, **hints):
        return True  # both connections reach the same database

    def allow_migrate(self, db, app_label, **hints):
        return db == DEFAULT_DB_ALIAS
