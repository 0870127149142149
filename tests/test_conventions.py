"""Cheap static checks that keep the tenancy rules true as the code grows (STYLE.md)."""

import ast
import re
from pathlib import Path

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

from clinic_crm.tenancy.models import TenantModel

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ["clinic_crm", "offers", "promos", "coupons", "redemptions", "notifications"]

# Where each escape hatch may appear, and why it is safe there.
ESCAPE_HATCH_ALLOWED = {
    # the unscoped default manager: Django admin (platform admins) and the tenancy registry itself
    r"\ball_clinics\b": ("clinic_crm/tenancy/", "/admin.py", "/migrations/", "/management/commands/"),
    # the platform connection (BYPASSRLS): Django admin only, through the tenancy middleware
    r"\bunscoped\(": ("clinic_crm/tenancy/context.py", "clinic_crm/tenancy/middleware.py",
                       "clinic_crm/tenancy/routers.py"),
    # FORCE lifted for a migration's own transaction: data migrations only
    r"\bevery_clinic\(": ("clinic_crm/tenancy/context.py", "/migrations/"),
}


def python_files():
    for folder in SOURCE_DIRS:
        yield from (p for p in (ROOT / folder).rglob("*.py") if ".venv" not in p.parts)


def test_escape_hatches_appear_only_where_allowed():
    offenders = []
    for path in python_files():
        rel = "/" + path.relative_to(ROOT).as_posix()
        text = path.read_text()
        for pattern, allowed in ESCAPE_HATCH_ALLOWED.items():
            if re.search(pattern, text) and not any(part in rel for part in allowed):
                offenders.append(f"{rel}: {pattern}")
    assert not offenders, f"escape hatches outside the allow-list: {offenders}"


def test_get_object_or_404_is_never_given_a_bare_tenant_model():
    # A model class makes get_object_or_404 use the unscoped default manager; pass Model.objects.
    tenant_names = {m.__name__ for m in apps.get_models() if issubclass(m, TenantModel)}
    offenders = []
    for path in python_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "get_object_or_404" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Name) and first.id in tenant_names:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"get_object_or_404 with a bare tenant model: {offenders}"


def test_every_tenant_model_keeps_the_unscoped_manager_as_django_default_and_objects_scoped():
    from clinic_crm.tenancy.managers import ClinicScopedManager

    for model in apps.get_models():
        if issubclass(model, TenantModel):
            assert model._meta.default_manager.name == "all_clinics", model
            assert isinstance(model._meta.get_field("clinic").remote_field.model, type)
            assert not model._meta.get_field("clinic").null, model
            assert isinstance(model.objects, ClinicScopedManager), model


def test_every_tenant_models_unique_constraints_and_indexes_lead_with_clinic():
    offenders = []
    for model in apps.get_models():
        if not issubclass(model, TenantModel):
            continue
        for constraint in model._meta.constraints:
            fields = getattr(constraint, "fields", ())
            if fields and fields[0] != "clinic":
                offenders.append(f"{model.__name__}.{constraint.name}")
        for index in model._meta.indexes:
            first = index.fields[0] if index.fields else getattr(index.expressions[0], "name", "")
            if first.lstrip("-") != "clinic":
                offenders.append(f"{model.__name__}.{index.name}")
    assert not offenders, f"constraints/indexes not led by clinic: {offenders}"


def test_every_model_with_a_clinic_has_an_index_led_by_clinic_for_its_foreign_key():
    """The clinic foreign key has no index of its own (TenantModel): a composite one serves it."""
    missing = []
    for model in apps.get_models():
        try:
            field = model._meta.get_field("clinic")
        except Exception:
            continue
        if field.db_index:
            continue
        led_by_clinic = [c for c in model._meta.constraints if getattr(c, "fields", ())[:1] == ("clinic",)]
        led_by_clinic += [i for i in model._meta.indexes if i.fields and i.fields[0].lstrip("-") == "clinic"]
        if not led_by_clinic:
            missing.append(model.__name__)
    assert not missing, f"no index serves the clinic foreign key of: {missing}"


def test_every_dashboard_view_declares_its_required_role():
    missing = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and (prefix + str(p.pattern)).startswith("c/<slug:clinic_slug>/"):
                if not hasattr(p.callback, "required_role"):
                    missing.append(prefix + str(p.pattern))

    walk(get_resolver().url_patterns)
    assert not missing, f"dashboard views without required_role: {missing}"


def test_every_clinic_api_view_is_a_clinic_api():
    from clinic_crm.common.api import ClinicApi, PublicApi

    public = {"StaffTokenApi"}
    offenders = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and (prefix + str(p.pattern)).startswith("api/v1/"):
                cls = getattr(p.callback, "view_class", None)
                if cls is None:
                    continue
                if not issubclass(cls, ClinicApi) and not (issubclass(cls, PublicApi) and cls.__name__ in public):
                    offenders.append(cls.__name__)

    walk(get_resolver().url_patterns)
    assert not offenders, f"API views outside ClinicApi: {offenders}"


LENIENT_FIELDS = {"CharField", "BooleanField", "IntegerField", "DecimalField", "FloatField", "EmailField", "URLField",
                  "SlugField", "RegexField", "ChoiceField", "DateField", "DateTimeField", "ModelSerializer"}


def test_serializers_use_the_fields_that_hold_the_schemas_json_types():
    # DRF's own fields convert 12 to "12" and 0 to False; clinic_crm.common.json_fields refuse them.
    # (Which layer may import which: tests/test_architecture.py.)
    def lenient(node) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr in LENIENT_FIELDS
                and isinstance(node.value, ast.Name) and node.value.id == "serializers")

    offenders = []
    for path in python_files():
        if path.name == "json_fields.py" or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            used = []
            if isinstance(node, ast.Call) and lenient(node.func):
                used = [node.func]
            elif isinstance(node, ast.ClassDef) and node.name != "IdInput":  # ids take "12" and 12 on purpose
                used = [base for base in node.bases if lenient(base)]
            offenders += [f"{path.relative_to(ROOT)}:{n.lineno}: serializers.{n.attr}" for n in used]
    assert not offenders, "use clinic_crm.common.json_fields instead:\n" + "\n".join(offenders)


def test_no_page_asks_through_a_browser_pop_up():
    """Every risky action confirms in the product's own dialog (components/confirm_dialog.html), never
    `window.confirm`, `alert` or `prompt`."""
    offenders = []
    for folder, pattern in (("templates", "*.html"), ("static", "*.js")):
        for path in (ROOT / folder).rglob(pattern):
            text = path.read_text(encoding="utf-8")
            for name in ("confirm(", "alert(", "prompt("):
                if re.search(rf"(?<![\w-]){re.escape(name)}", text):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, offenders
