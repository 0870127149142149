"""Dependencies run one way (DESIGN.md, Architecture): each floor imports only the floors below it.

    core (clinic_crm: common, tenancy, patients, orders)
      → notifications, redemptions
        → offers, promos, coupons
          → composition pages (clinic_crm: dashboard, patient_app) and the project's wiring (urls, wsgi, …)

A domain app never imports another domain app: what several kinds share lives below them (the
ledger and promotion registry in `redemptions`, "the app's config changed" in the core), and
what shows several kinds at once lives above them. No two modules of the project import each
other, however indirectly. Every import counts, also one inside a function.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_PACKAGES = ("clinic_crm", "offers", "promos", "coupons", "redemptions", "notifications")

CORE = ("clinic_crm.common", "clinic_crm.tenancy", "clinic_crm.patients", "clinic_crm.orders")
SHARED = ("notifications", "redemptions")
DOMAIN = ("offers", "promos", "coupons")
COMPOSITION = ("clinic_crm.dashboard", "clinic_crm.patient_app")
# The project package itself and its wiring (settings, urls, wsgi, asgi, celery) sit at the top.
FLOORS = {"core": 0, "shared": 1, "domain": 2, "composition": 3, "project": 3}


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    path: str  # file, relative to the root
    line: int
    target: str  # the module it loads


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def part_of(module: str) -> tuple[str, str]:
    """(floor, part): e.g. ("domain", "offers") or ("core", "clinic_crm.tenancy")."""
    for floor, parts in (("core", CORE), ("shared", SHARED), ("domain", DOMAIN), ("composition", COMPOSITION)):
        for part in parts:
            if _within(module, part):
                return floor, part
    return "project", "clinic_crm"


def project_modules(root: Path) -> dict[str, Path]:
    """Every module of the project's packages, migrations left out."""
    modules = {}
    for package in TOP_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        # `from package import module` loads the module; `from module import name` loads the module.
        names = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                 for alias in node.names]
    found = []
    for name in names:
        # `import a.b.c` of something not a module of ours (a name inside one): its nearest module.
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != module and name not in found:
            found.append(name)
    return found


def project_imports(root: Path) -> list[Import]:
    """Every import of one project module by another, wherever in the file it is written."""
    modules = project_modules(root)
    imports = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(node, module, path.name == "__init__.py", modules):
                    imports.append(Import(module, str(path.relative_to(root)), node.lineno, target))
    return imports


def layering_violations(imports: list[Import]) -> list[str]:
    """Each import that goes up a floor, or sideways from one domain app into another."""
    problems = []
    for imp in imports:
        floor, part = part_of(imp.importer)
        target_floor, target_part = part_of(imp.target)
        if part == target_part:
            continue
        if floor == "domain" and target_floor == "domain":
            problems.append(f"{imp.path}:{imp.line} imports {imp.target}: the domain app {part} "
                            f"may not import another domain app ({target_part})")
        elif FLOORS[target_floor] > FLOORS[floor]:
            problems.append(f"{imp.path}:{imp.line} imports {imp.target}: {part} ({floor}) "
                            f"may not import {target_part} ({target_floor}), a floor above it")
    return problems


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


Step = tuple[str, Import]  # a module reached, and the import that reached it


def import_cycles(imports: list[Import]) -> list[list[Step]]:
    """Cycles of module imports, each as the chain of imports that closes it.

    Importing `a.b.c` also runs the packages `a` and `a.b`, so they count as imported too, except
    for a module's own packages, which are necessarily loaded before it.
    """
    edges: dict[str, dict[str, Import]] = {}
    for imp in imports:
        for target in {imp.target} | _ancestors(imp.target):
            if target != imp.importer and target not in _ancestors(imp.importer):
                edges.setdefault(imp.importer, {}).setdefault(target, imp)
    # Tarjan's strongly connected components; each component of two or more modules has a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_cycle_in(component, edges) for component in components]


def _cycle_in(component: set[str], edges: dict[str, dict[str, Import]]) -> list[Step]:
    """One cycle through the component's first module, found breadth first (the shortest)."""
    start = min(component)
    paths: dict[str, list[Step]] = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target, imp in sorted(edges.get(node, {}).items()):
            if target == start:
                return paths[node] + [(target, imp)]
            if target in component and target not in paths:
                paths[target] = paths[node] + [(target, imp)]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # a strongly connected component always has one


def describe_cycle(cycle: list[Step]) -> str:
    """"a → b (a.py:3) → a (b.py:7: imports a.c)": each module, and where the import that reaches it is."""
    steps = [cycle[0][1].importer]
    for module, imp in cycle:
        written = "" if imp.target == module else f": imports {imp.target}"
        steps.append(f"{module} ({imp.path}:{imp.line}{written})")
    return " → ".join(steps)


# --- the project ------------------------------------------------------------------------------------


def test_every_import_goes_down_the_floors_and_no_domain_app_imports_another():
    # given every import written in the project's modules
    imports = project_imports(ROOT)
    assert len(imports) > 100  # the walk found the project
    # when they are checked against DESIGN.md's floors
    problems = layering_violations(imports)
    # then none goes up a floor or across domain apps
    assert not problems, "Imports against the floors of DESIGN.md:\n" + "\n".join(problems)


def test_no_module_of_the_project_imports_itself_through_others():
    # given every import written in the project's modules
    imports = project_imports(ROOT)
    # when cycles of module imports are looked for
    cycles = import_cycles(imports)
    # then there are none
    assert not cycles, "Import cycles:\n" + "\n".join(describe_cycle(cycle) for cycle in cycles)


# --- the checks themselves, on a small made-up project ---------------------------------------------


def write(root: Path, path: str, text: str = "") -> None:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)


def made_up_project(tmp_path: Path, files: dict[str, str]) -> list[Import]:
    for package in TOP_PACKAGES:
        write(tmp_path, f"{package}/__init__.py")
    for path, text in files.items():
        write(tmp_path, path, text)
    return project_imports(tmp_path)


def test_a_domain_app_importing_another_is_named_with_its_file_and_line(tmp_path):
    # given offers reading promos' selectors inside a function, and promos reading the ledger
    imports = made_up_project(tmp_path, {
        "offers/app_config.py": "import json\n\ndef build():\n    from promos.selectors import list_app_promos\n",
        "promos/selectors.py": "from redemptions.models import Redemption\n",
        "redemptions/models.py": "",
    })
    # when the floors are checked
    problems = layering_violations(imports)
    # then only the sideways import is reported, where it is written
    assert problems == ["offers/app_config.py:4 imports promos.selectors: the domain app offers "
                        "may not import another domain app (promos)"]


def test_the_core_and_the_shared_apps_may_not_import_upwards(tmp_path):
    # given the core reading a domain app, notifications reading one, and redemptions a composition page
    imports = made_up_project(tmp_path, {
        "clinic_crm/tenancy/services.py": "from offers import catalogue\n",
        "offers/catalogue.py": "",
        "notifications/selectors.py": "import promos.models\n",
        "promos/models.py": "",
        "redemptions/selectors.py": "from clinic_crm.dashboard.selectors import overview\n",
        "clinic_crm/dashboard/selectors.py": "from offers.catalogue import x\nfrom redemptions import selectors\n",
    })
    # when the floors are checked
    problems = layering_violations(imports)
    # then the three upward imports are reported, and the composition page's downward ones are not
    assert sorted(problems) == [
        "clinic_crm/tenancy/services.py:1 imports offers.catalogue: clinic_crm.tenancy (core) "
        "may not import offers (domain), a floor above it",
        "notifications/selectors.py:1 imports promos.models: notifications (shared) "
        "may not import promos (domain), a floor above it",
        "redemptions/selectors.py:1 imports clinic_crm.dashboard.selectors: redemptions (shared) "
        "may not import clinic_crm.dashboard (composition), a floor above it",
    ]


def test_a_cycle_is_found_through_a_function_level_import_and_a_package_init(tmp_path):
    # given services → tasks inside a function, tasks → the backends package, whose __init__ → services
    imports = made_up_project(tmp_path, {
        "notifications/services.py": "def queue():\n    from notifications.tasks import deliver\n",
        "notifications/tasks.py": "from notifications.backends.base import Backend\n",
        "notifications/backends/__init__.py": "from notifications import services\n",
        "notifications/backends/base.py": "",
        "notifications/selectors.py": "from notifications.services import queue\n",
    })
    # when cycles are looked for
    cycles = import_cycles(imports)
    # then the one cycle is reported with each import's place
    assert [describe_cycle(cycle) for cycle in cycles] == [
        "notifications.backends → notifications.services (notifications/backends/__init__.py:1)"
        " → notifications.tasks (notifications/services.py:2)"
        " → notifications.backends (notifications/tasks.py:1: imports notifications.backends.base)"
    ]


def test_a_module_importing_its_own_package_or_a_sibling_is_no_cycle(tmp_path):
    # given a package whose __init__ re-exports its modules, which import each other one way
    imports = made_up_project(tmp_path, {
        "promos/selectors/__init__.py": "from promos.selectors.listing import rows\nfrom .detail import one\n",
        "promos/selectors/listing.py": "from promos.selectors.detail import one\n",
        "promos/selectors/detail.py": "from promos import models\n",
        "promos/models.py": "",
    })
    # when cycles are looked for
    # then there are none
    assert import_cycles(imports) == []


def test_the_patient_app_config_reaches_coupons_only_through_the_promotion_registry():
    # given every import of the patient app's modules
    imports = [i for i in project_imports(ROOT) if _within(i.importer, "clinic_crm.patient_app")]
    assert imports
    # then none loads coupons: its cards come through redemptions.registry, as other kinds' pages do
    assert not [f"{i.path}:{i.line} imports {i.target}" for i in imports if _within(i.target, "coupons")]
