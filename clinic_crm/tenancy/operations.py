"""Migration operations for PostgreSQL-only table rules: row-level security (CORE-1), append-only logs (PRO-5)."""

from django.db.migrations.operations.base import Operation

POLICY = "clinic_isolation"


def policy_sql(table: str) -> list[str]:
    # current_setting(..., true) is STABLE, so the planner keeps using (clinic_id, …) indexes.
    # No way past it by a setting: only a role with BYPASSRLS (the platform's) sees every clinic.
    predicate = "clinic_id = NULLIF(current_setting('app.clinic_id', true), '')::bigint"
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS {POLICY} ON "{table}"',
        f'CREATE POLICY {POLICY} ON "{table}" USING ({predicate}) WITH CHECK ({predicate})',
    ]


class PostgresTableOperation(Operation):
    """A rule on one model's table that exists only in PostgreSQL; the model state is untouched."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def state_forwards(self, app_label, state):
        pass

    def _table(self, app_label, state):
        return state.apps.get_model(app_label, self.model_name)._meta.db_table

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name], {})


class EnableRowLevelSecurity(PostgresTableOperation):
    """ENABLE + FORCE row-level security on a model's table with the clinic policy. No-op off PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in policy_sql(self._table(app_label, to_state)):
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        table = self._table(app_label, from_state)
        schema_editor.execute(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
        schema_editor.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        schema_editor.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')

    def describe(self):
        return f"Enable row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"rls_{self.model_name.lower()}"


class RecreateClinicPolicies(Operation):
    """Create again, as `policy_sql` now has it, the clinic policy of every table that has one."""

    reversible = True
    reduces_to_sql = False

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_policies WHERE schemaname = current_schema() "
                           "AND policyname = %s ORDER BY tablename", [POLICY])
            tables = [row[0] for row in cursor.fetchall()]
        for table in tables:
            for statement in policy_sql(table):
                schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass  # the earlier policies let a setting bypass them: not restored

    def describe(self):
        return "Create every clinic policy again, without a way past it by a setting"


class MakeAppendOnly(PostgresTableOperation):
    """Refuse UPDATE and DELETE on a table in PostgreSQL itself (audit logs). No-op elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        table = self._table(app_label, to_state)
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION refuse_change_to_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '%% is append-only: %% refused', TG_TABLE_NAME, TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        schema_editor.execute(f'DROP TRIGGER IF EXISTS append_only ON "{table}"')
        schema_editor.execute(
            f'CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only()"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f'DROP TRIGGER IF EXISTS append_only ON "{self._table(app_label, from_state)}"')

    def describe(self):
        return f"Make {self.model_name} append-only"
