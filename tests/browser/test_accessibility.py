"""Every dashboard page of the demo, as an owner, a manager and a viewer, at 1400 px and on a phone (390 px):
axe-core finds no serious or critical violation, nothing scrolls sideways at 1400 px (neither the page nor a
table inside its frame), and every visible control is in the keyboard's tab order.

axe-core runs inside the page (the script ships with axe-playwright-python). Each page is also saved under
var/screenshots/a11y-<role>-<width>-<route>.png to be looked at.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import Page

from tests.browser.conftest import save_screenshot
from tests.demo_pages import DEMO_MAIL, DEMO_PASSWORD, SIGNED_OUT_PAGES, page_urls, seed_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
BLOCKING = {"serious", "critical"}
AXE = Axe()

# Visible controls a keyboard cannot reach: taken out of the tab order, or clickable without being a control.
UNREACHABLE_JS = """() => {
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0
                          && getComputedStyle(el).visibility !== 'hidden'; };
  const controls = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')];
  return controls.filter(el => visible(el) && !el.disabled && el.tabIndex < 0
                               && !el.closest('dialog:not([open])'))
                 .map(el => el.outerHTML.slice(0, 120));
}"""


def axe_problems(page: Page) -> list[str]:
    """The page's serious and critical axe-core violations, one line each with the first offending elements."""
    found = AXE.run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(_node(node) for node in v["nodes"][:3])
            for v in found if v["impact"] in BLOCKING]


def _node(node: dict) -> str:
    where = " ".join(node["target"])
    data = next((check.get("data") for check in node.get("any", []) if isinstance(check.get("data"), dict)), None)
    if data and "contrastRatio" in data:  # which colours, so the fix is obvious
        return f"{where} [{data['fgColor']} on {data['bgColor']}, {data['contrastRatio']}:1]"
    return where


def sideways_scroll(page: Page) -> list[str]:
    """What scrolls sideways: the page itself, or a table cut off inside its scrolling frame."""
    return page.evaluate("""() => {
      const found = [];
      const root = document.documentElement;
      if (root.scrollWidth > root.clientWidth) found.push(`the page, by ${root.scrollWidth - root.clientWidth} px`);
      document.querySelectorAll('.table-wrap').forEach(wrap => {
        if (wrap.scrollWidth > wrap.clientWidth + 1 && wrap.getBoundingClientRect().width > 0) {
          const label = wrap.closest('section, .card')?.querySelector('h2')?.textContent || 'a table';
          found.push(`${label.trim()} by ${wrap.scrollWidth - wrap.clientWidth} px`);
        }
      });
      return found;
    }""")


def sweep(page: Page, base_url: str, pages: list[tuple[str, str]], label: str) -> list[str]:
    """Visit each page at both widths; return every problem found, named by page and width."""
    problems: list[str] = []
    for viewport in (WIDE, PHONE):
        page.set_viewport_size(viewport)
        width = viewport["width"]
        forbidden_checked = False
        for name, path in pages:
            response = page.goto(base_url + path)
            status = response.status if response else 0
            where = f"{name} at {width} px ({path})"
            if status == 403:
                # The same "not allowed" page each time: checked once per width.
                if forbidden_checked:
                    continue
                forbidden_checked = True
            elif status != 200:
                problems.append(f"{where}: answered {status}")
                continue
            problems += [f"{where}: {p}" for p in axe_problems(page)]
            if width == WIDE["width"]:
                problems += [f"{where}: scrolls sideways: {what}" for what in sideways_scroll(page)]
            problems += [f"{where}: not reachable by keyboard: {html}"
                         for html in page.evaluate(UNREACHABLE_JS)]
            save_screenshot(page, f"a11y-{label}-{width}-{name.replace(':', '-')}")
    return problems


@pytest.mark.parametrize("role", ["owner", "manager", "viewer"])
def test_every_dashboard_page_passes_axe_and_fits_1400_px(role, page, login, live_server, django_user_model):
    # given the demo, signed in as the role's login of the London clinic
    clinic = seed_demo()
    login(django_user_model.objects.get(email=f"{role}@{DEMO_MAIL}"), DEMO_PASSWORD)

    # when every page is visited at 1400 px and at 390 px
    problems = sweep(page, live_server.url, page_urls(clinic), role)

    # then none has a serious or critical violation, a sideways scroll at 1400 px or an unreachable control
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_signed_out_pages_pass_axe(page, live_server):
    problems = sweep(page, live_server.url, [(name, reverse(name)) for name in SIGNED_OUT_PAGES], "signed-out")

    assert not problems, "\n".join(problems)
