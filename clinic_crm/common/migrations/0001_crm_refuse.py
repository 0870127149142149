"""`crm_refuse(reason)`: lets one statement refuse by raising, with SQLSTATE CRM01 and the reason
as its message (common/transactions.py, `refusal()`). PostgreSQL only."""

from django.db import migrations

CREATE = """
    CREATE OR REPLACE FUNCTION crm_refuse(reason text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING ERRCODE = 'CRM01', MESSAGE = reason;
    END $$
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS crm_refuse(text)")


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create, drop, elidable=False)]
