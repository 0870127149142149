"""Screenshot every dashboard page of a running demo, on desktop and on a phone, for design review.

Not a test (pytest collects `test_*.py` only). Serve the demo data first, then run:

    DEBUG=1 CLINIC_CRM_VAR_DIR=/tmp/uivar .venv/bin/python manage.py runserver 127.0.0.1:8765
    .venv/bin/python -m tests.browser.screenshots [--base-url http://127.0.0.1:8765] [--only revenue]

PNGs land in var/screenshots/review/<viewport>-<page>.png. With DEBUG on, Django answers a 404 with
its technical page; pass --error-base-url pointing at a server with DEBUG off to see ours.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS

VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "mobile": {"width": 390, "height": 844}}
OUT = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "review"


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def first_href(page: Page, selector: str) -> str | None:
    links = page.locator(selector)
    return links.first.get_attribute("href") if links.count() else None


def pages_to_visit(page: Page, base: str, clinic: str) -> list[tuple[str, str]]:
    """(name, url) pairs; the profile and order are whichever come first in their lists."""
    c = f"{base}/c/{clinic}"
    page.goto(f"{c}/patients/")
    profile = first_href(page, "table a.row-link")
    page.goto(f"{c}/revenue/")
    order = first_href(page, "table a.row-link")
    month_ago = (date.today() - timedelta(days=30)).isoformat()
    pages = [
        ("dashboard", f"{c}/"),
        ("dashboard-7-days", f"{c}/?period=7"),
        ("patients", f"{c}/patients/"),
        ("patients-no-match", f"{c}/patients/?q=zzzzzz"),
        ("patient-new", f"{c}/patients/new/"),
        ("revenue", f"{c}/revenue/"),
        ("revenue-filtered", f"{c}/revenue/?source=promo&date_from={month_ago}&date_to={date.today().isoformat()}"),
        ("revenue-empty", f"{c}/revenue/?q=no-such-order"),
        ("settings-clinic", f"{c}/settings/"),
        ("settings-onesignal", f"{c}/settings/onesignal/"),
        ("settings-api-keys", f"{c}/settings/api-keys/"),
        ("settings-staff", f"{c}/settings/staff/"),
    ]
    # A clinic with no patients or orders yet has no profile or order to open.
    if profile:
        patient_id = profile.rstrip("/").rsplit("/", 1)[1]
        pages += [("profile", base + profile), ("patient-edit", f"{c}/patients/{patient_id}/edit/"),
                  ("revenue-patient", f"{c}/revenue/?patient={patient_id}")]
    if order:
        pages.append(("order", base + order))
    pages += [("offers", f"{c}/offers/"), ("offers-automated", f"{c}/offers/automated/"),
              ("offer-new", f"{c}/offers/new/")]
    page.goto(f"{c}/offers/")
    offer = first_href(page, "[data-testid=offer-row] a[href$='/redemptions/']")
    pushable = first_href(page, "[data-testid=push-button]")
    page.goto(f"{c}/offers/automated/")
    automated = first_href(page, "[data-testid=automated-row] a[href$='/edit/']")
    if offer:
        offer_base = base + offer.removesuffix("redemptions/")
        pages += [("offer-edit", f"{offer_base}edit/"), ("offer-redemptions", f"{offer_base}redemptions/"),
                  ("offer-delete", f"{offer_base}delete/")]
    if pushable:
        pages.append(("offer-push", base + pushable))
    if automated:
        pages.append(("offer-automated-edit", base + automated))
    pages += [("promos", f"{c}/promos/"), ("promos-paused", f"{c}/promos/?status=paused"),
              ("promo-new", f"{c}/promos/new/"), ("promos-compare", f"{c}/promos/compare/"),
              ("promos-portfolio", f"{c}/promos/portfolio/?period=90")]
    page.goto(f"{c}/promos/")
    promo = first_href(page, "[data-testid=promo-row] a.row-link")
    if promo:
        pages += [("promo-detail", base + promo), ("promo-edit", f"{base}{promo}edit/"),
                  ("promo-archive", f"{base}{promo}archive/")]
    pages += [("responses", f"{c}/responses/"), ("responses-clipped", f"{c}/responses/?status=clipped&usage=current")]
    page.goto(f"{c}/responses/")
    response = first_href(page, "[data-testid=response-row] a.row-link")
    if response:
        pages.append(("response-detail", base + response))
    pages += [("patients-segment", f"{c}/patients/?segment=lost"), ("cards", f"{c}/cards/"),
              ("card-new", f"{c}/cards/new/"), ("cards-apple-wallet", f"{c}/cards/apple-wallet/")]
    page.goto(f"{c}/cards/")
    template = first_href(page, "[data-testid=card-template-row] a.row-link")
    if template:
        pages.append(("card-template", base + template))
        page.goto(base + template)
        card = first_href(page, "a[href*='/cards/c/']")
        if card:
            pages += [("card-profile", base + card), ("card-information", f"{base}{card}information/"),
                      ("card-push", f"{base}{card}push/"), ("card-feedback", f"{base}{card}feedback/?range=year")]
    return pages


@dataclass
class Camera:
    """Saves full-page PNGs named <viewport>-<page>.png, optionally also cut into screen-sized tiles."""

    out: Path
    tiles: bool = False
    saved: list[Path] = field(default_factory=list)

    def shoot(self, page: Page, name: str, viewport: str, *, full_page: bool = True) -> None:
        path = self.out / f"{viewport}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.saved.append(path)
        if self.tiles and full_page:
            # A phone's full page is too tall to judge at a glance; the tiles show it screen by screen.
            size = page.viewport_size
            height = page.evaluate("document.documentElement.scrollHeight")
            for i, top in enumerate(range(0, height, size["height"]), start=1):
                clip = {"x": 0, "y": top, "width": size["width"], "height": min(size["height"], height - top)}
                page.screenshot(path=str(self.out / f"{viewport}-{name}.{i}.png"), full_page=True, clip=clip)


def run(camera: Camera, base: str, email: str, password: str, clinic: str, only: str | None, *, viewer: str,
        error_base: str) -> list[Path]:
    camera.out.mkdir(parents=True, exist_ok=True)

    def wanted(name: str) -> bool:
        return only is None or only in name

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for viewport, size in VIEWPORTS.items():
            phone = viewport == "mobile"
            context = browser.new_context(viewport=size, locale="en-GB", is_mobile=phone, has_touch=phone)
            page = context.new_page()
            page.set_default_timeout(15_000)

            page.goto(f"{base}/accounts/login/")
            if wanted("login"):
                camera.shoot(page, "login", viewport)
            page.get_by_label("E-mail").fill(email)
            page.get_by_label("Password").fill("wrong-password")
            page.get_by_role("button", name="Sign in").click()
            if wanted("login-error"):
                camera.shoot(page, "login-error", viewport)
            sign_in(page, base, email, password)
            if "/c/" not in page.url and wanted("choose-clinic"):
                camera.shoot(page, "choose-clinic", viewport)

            for name, url in pages_to_visit(page, base, clinic):
                if wanted(name):
                    page.goto(url)
                    camera.shoot(page, name, viewport)

            if wanted("saved"):
                # Saving a profile unchanged is harmless and shows the success message.
                page.goto(f"{base}/c/{clinic}/patients/")
                first = page.locator("table a.row-link")
                if first.count():
                    first.first.click()
                    page.get_by_role("link", name="Edit details").click()
                    page.get_by_role("button", name="Save changes").click()
                    camera.shoot(page, "profile-saved", viewport)
            if wanted("switcher"):
                page.goto(f"{base}/c/{clinic}/")
                page.locator("details[data-testid=clinic-switcher] summary").click()
                camera.shoot(page, "switcher", viewport)
            if wanted("range"):
                page.goto(f"{base}/c/{clinic}/")
                page.get_by_text("Custom", exact=True).click()
                camera.shoot(page, "range-picker", viewport)
            if wanted("offers-menu"):
                page.goto(f"{base}/c/{clinic}/offers/")
                menu = page.locator("[data-testid=offer-row] details.row-menu summary")
                if menu.count():
                    menu.first.click()
                    camera.shoot(page, "offers-menu", viewport, full_page=False)
            if wanted("offer-errors"):
                page.goto(f"{base}/c/{clinic}/offers/new/")
                page.locator("#id_name").fill("Broken")
                page.get_by_label("Percent").check()
                page.locator("#id_discount_value").fill("150")
                page.locator("#id_valid_from").fill("2026-05-10")
                page.locator("#id_valid_until").fill("2026-05-01")
                page.get_by_role("button", name="Create offer").click()
                camera.shoot(page, "offer-errors", viewport)
            if phone and wanted("menu"):
                page.goto(f"{base}/c/{clinic}/revenue/")
                page.get_by_role("button", name="Open menu").click()
                page.wait_for_timeout(400)  # the slide-in transition
                camera.shoot(page, "menu-open", viewport, full_page=False)
            context.close()

            # What a read-only viewer sees, and the refusal when they try to write.
            context = browser.new_context(viewport=size, locale="en-GB", is_mobile=phone, has_touch=phone)
            page = context.new_page()
            if wanted("viewer") or wanted("forbidden") or wanted("viewer-offers"):
                sign_in(page, base, viewer, password)
                if wanted("viewer"):
                    page.goto(f"{base}/c/{clinic}/patients/")
                    camera.shoot(page, "viewer-patients", viewport)
                if wanted("viewer-offers"):
                    page.goto(f"{base}/c/{clinic}/offers/")
                    camera.shoot(page, "viewer-offers", viewport)
                if wanted("forbidden"):
                    page.goto(f"{base}/c/{clinic}/patients/new/")
                    camera.shoot(page, "forbidden", viewport)
            if wanted("not-found"):
                page.goto(f"{error_base}/no-such-page/")
                camera.shoot(page, "not-found", viewport)
            context.close()
        browser.close()
    return camera.saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8765")
    parser.add_argument("--email", default="alex@demo.clinic")
    parser.add_argument("--password", default="demo-password")
    parser.add_argument("--clinic", default="harley-street")
    parser.add_argument("--viewer", default="viewer@harley.demo", help="a viewer of the same clinic")
    parser.add_argument("--error-base-url", help="a server with DEBUG off, for the 404 page")
    parser.add_argument("--only", help="only pages whose name contains this")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to save the PNGs (default {OUT})")
    parser.add_argument("--tiles", action="store_true", help="also save each page cut into screen-sized tiles")
    args = parser.parse_args(argv)
    base = args.base_url.rstrip("/")
    camera = Camera(out=args.out, tiles=args.tiles)
    for path in run(camera, base, args.email, args.password, args.clinic, args.only, viewer=args.viewer,
                    error_base=(args.error_base_url or base).rstrip("/")):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
