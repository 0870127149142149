"""The patient app's config: what it shows now, cached with an ETag, every change visible next fetch (OFF-7)."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic_crm.tenancy.services import update_clinic
from tests.conftest import assert_error
from offers import services
from offers.choices import Occasion
from offers.models import AutomatedOffer, Offer
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/app/config"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def make_offer(clinic, in_clinic, **data) -> Offer:
    values = {"name": "Internal name", "title": "20% off whitening", "description": "This month only",
              "discount_type": "percent", "discount_value": Decimal("20"), "active": True, "published": True,
              **data}
    with in_clinic(clinic):
        return services.create_offer(clinic=clinic, data=values)


def fetch(app_client_for, clinic, **headers):
    return app_client_for(clinic).get(CONFIG, **headers)


def offer_ids(response) -> list[str]:
    return [o["id"] for o in response.json()["offers"]]


@time_machine.travel(datetime(2026, 12, 10, 12, 0, tzinfo=LONDON), tick=False)
def test_the_config_has_the_clinic_and_its_live_offers_in_the_api_shape(clinic_a, in_clinic, app_client_for,
                                                                         django_capture_on_commit_callbacks):
    # given a live one-time offer and a published Christmas offer shown 30 days ahead, not fired yet
    with django_capture_on_commit_callbacks(execute=True):
        offer = make_offer(clinic_a, in_clinic, valid_until=date(2030, 1, 31))
        with in_clinic(clinic_a):
            christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
            services.configure_automated_offer(automated_offer=christmas, data={"app_lead_days": 30})
            services.publish_automated_offer(automated_offer=christmas)
    # when the app fetches its config on 10 December
    response = fetch(app_client_for, clinic_a)
    # then it has the clinic, both offers with promotion ids, and a strong ETag
    assert response.status_code == 200
    body = response.json()
    assert body["clinic"] == {"name": "Clinic A", "slug": "clinic-a", "currency": "GBP",
                              "timezone": "Europe/London", "branding": clinic_a.branding}
    assert body["generated_at"]
    assert body["offers"] == [
        {"id": offer.promotion_key, "kind": "one_time", "occasion": None, "title": "20% off whitening",
         "description": "This month only", "discount_label": "20% Off", "valid_from": None,
         "valid_until": "2030-01-31", "redeemable": True},
        {"id": christmas.promotion_key, "kind": "automated", "occasion": "christmas",
         "title": "Merry Christmas", "description": "Our gift to you: 10% off this festive season.",
         "discount_label": "10% Off",
         "valid_from": None, "valid_until": None, "redeemable": False},
    ]
    assert response["ETag"].startswith('"') and not response["ETag"].startswith("W/")
    assert "no-cache" in response["Cache-Control"]


def test_hidden_offers_are_not_in_the_config(clinic_a, in_clinic, app_client_for):
    # given offers that are unpublished, inactive, not started and ended in the clinic's date
    make_offer(clinic_a, in_clinic, published=False)
    make_offer(clinic_a, in_clinic, active=False)
    make_offer(clinic_a, in_clinic, valid_from=date(2026, 6, 2))
    make_offer(clinic_a, in_clinic, valid_until=date(2026, 5, 31))
    live = make_offer(clinic_a, in_clinic, valid_from=date(2026, 6, 1), valid_until=date(2026, 6, 1))
    # when the app fetches on 1 June just after midnight London time (still 31 May in UTC)
    with time_machine.travel(datetime(2026, 6, 1, 0, 30, tzinfo=LONDON), tick=False):
        response = fetch(app_client_for, clinic_a)
    # then only the live one-time offer is listed (no automated offer is published)
    assert offer_ids(response) == [live.promotion_key]


def test_a_fired_automated_offer_is_redeemable_inside_its_window(clinic_a, in_clinic, app_client_for):
    # given a published Christmas offer that fired on 25 December, valid for 7 days
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        services.configure_automated_offer(automated_offer=christmas, data={"active": True, "published": True})
        services.fire_automated_offer(clinic=clinic_a, automated_offer=christmas, occurrence=date(2026, 12, 25))
    # when the app fetches on 31 December and on 1 January
    with time_machine.travel(datetime(2026, 12, 31, 18, 0, tzinfo=LONDON), tick=False):
        inside = fetch(app_client_for, clinic_a).json()["offers"]
    with time_machine.travel(datetime(2027, 1, 1, 9, 0, tzinfo=LONDON), tick=False):
        after = fetch(app_client_for, clinic_a).json()["offers"]
    # then it is redeemable until the 31st, and gone from the app after its window
    assert [(o["redeemable"], o["valid_until"]) for o in inside] == [(True, "2026-12-31")]
    assert after == []


def test_a_signed_in_patient_gets_the_same_list(clinic_a, in_clinic, app_client_for):
    # given a live offer and a signed-in patient
    make_offer(clinic_a, in_clinic)
    with in_clinic(clinic_a):
        patient = PatientFactory()
    # when both the public app and the patient fetch
    public = app_client_for(clinic_a).get(CONFIG)
    signed_in = app_client_for(clinic_a, patient).get(CONFIG)
    # then they see the same offers under the same tag
    assert signed_in.status_code == 200
    assert signed_in.json()["offers"] == public.json()["offers"]
    assert signed_in["ETag"] == public["ETag"]


def test_if_none_match_with_the_current_tag_is_304_and_an_old_tag_gets_the_body(clinic_a, in_clinic,
                                                                                 app_client_for):
    # given a config fetched once
    make_offer(clinic_a, in_clinic)
    first = fetch(app_client_for, clinic_a)
    # when the app asks again with its tag, with a list of tags, and with a stale tag
    current = fetch(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=first["ETag"])
    listed = fetch(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=f'"stale", {first["ETag"]}')
    stale = fetch(app_client_for, clinic_a, HTTP_IF_NONE_MATCH='"stale"')
    # then the first two are 304 without a body and the stale one gets the full config
    assert (current.status_code, current.content, current["ETag"]) == (304, b"", first["ETag"])
    assert listed.status_code == 304
    assert stale.status_code == 200 and stale.json() == first.json()


@pytest.mark.parametrize("change", ["publish", "unpublish", "activate", "deactivate", "edit", "delete", "create"])
def test_every_lifecycle_change_is_visible_on_the_very_next_fetch(
        clinic_a, in_clinic, app_client_for, django_capture_on_commit_callbacks, change):
    # given a config the app holds, with one live offer and one draft
    live = make_offer(clinic_a, in_clinic, title="Live")
    draft = make_offer(clinic_a, in_clinic, title="Draft", published=False, active=False)
    before = fetch(app_client_for, clinic_a)
    # when staff change an offer (the change commits)
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        live, draft = Offer.objects.get(pk=live.pk), Offer.objects.get(pk=draft.pk)
        match change:
            case "publish":
                services.publish_offer(offer=draft)
                services.activate_offer(offer=draft)
            case "unpublish":
                services.unpublish_offer(offer=live)
            case "activate":
                services.update_offer(offer=draft, data={"published": True})
            case "deactivate":
                services.deactivate_offer(offer=live)
            case "edit":
                services.update_offer(offer=live, data={"title": "Live, now 30% off",
                                                        "discount_value": Decimal("30")})
            case "delete":
                services.delete_offer(offer=live)
            case "create":
                services.create_offer(clinic=clinic_a, data={
                    "name": "New", "title": "New", "discount_type": "free_treatment", "published": True})
    # then the app's conditional fetch is not a 304 and shows the change
    after = fetch(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    titles = {o["title"]: o for o in after.json()["offers"]}
    expected = {
        "publish": {"Live", "Draft"}, "unpublish": set(), "activate": {"Live"}, "deactivate": set(),
        "edit": {"Live, now 30% off"}, "delete": set(), "create": {"New", "Live"},
    }[change]
    assert set(titles) == expected
    if change == "edit":
        assert titles["Live, now 30% off"]["discount_label"] == "30% Off"


@time_machine.travel(datetime(2026, 10, 20, 12, 0, tzinfo=LONDON), tick=False)
def test_automated_offer_changes_are_visible_on_the_next_fetch(clinic_a, in_clinic, app_client_for,
                                                                django_capture_on_commit_callbacks):
    # given the app's config with no automated offer published, eleven days before Halloween
    before = fetch(app_client_for, clinic_a)
    # when Halloween is published to show two weeks ahead, then configured
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        halloween = AutomatedOffer.objects.get(occasion=Occasion.HALLOWEEN)
        services.configure_automated_offer(automated_offer=halloween, data={"app_lead_days": 14})
        services.publish_automated_offer(automated_offer=halloween)
    published = fetch(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=before["ETag"])
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        services.configure_automated_offer(automated_offer=halloween, data={"push_title": "Spooky savings"})
    configured = fetch(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=published["ETag"])
    # then each fetch shows the change
    assert [o["occasion"] for o in published.json()["offers"]] == ["halloween"]
    assert [o["title"] for o in configured.json()["offers"]] == ["Spooky savings"]


def test_the_tag_rolls_over_with_the_clinics_date_so_date_windows_do_too(clinic_a, in_clinic, app_client_for):
    # given an offer that starts tomorrow and the config fetched today
    make_offer(clinic_a, in_clinic, valid_from=date(2026, 6, 2))
    with time_machine.travel(datetime(2026, 6, 1, 23, 0, tzinfo=LONDON), tick=False):
        today = fetch(app_client_for, clinic_a)
    # when the app fetches with its tag after local midnight, with no change made
    with time_machine.travel(datetime(2026, 6, 2, 0, 5, tzinfo=LONDON), tick=False):
        tomorrow = fetch(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=today["ETag"])
    # then it gets a new body with the offer in it
    assert today.json()["offers"] == []
    assert tomorrow.status_code == 200 and len(tomorrow.json()["offers"]) == 1


def test_a_branding_change_is_visible_on_the_next_fetch(clinic_a, app_client_for):
    # given a config the app holds
    before = fetch(app_client_for, clinic_a)
    # when the clinic changes its colour
    with time_machine.travel(datetime(2030, 1, 1, 12, 0, tzinfo=LONDON), tick=False):
        update_clinic(clinic=clinic_a, data={"brand_color": "#112233"})
        after = fetch(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=before["ETag"])
    # then the new branding comes down
    assert after.status_code == 200
    assert after.json()["clinic"]["branding"]["primary_color"] == "#112233"


def test_a_cached_config_is_served_without_querying_offers(clinic_a, in_clinic, app_client_for):
    # given 50 live offers and the config fetched once
    for n in range(50):
        make_offer(clinic_a, in_clinic, title=f"Offer {n}")
    api = app_client_for(clinic_a)
    assert len(api.get(CONFIG).json()["offers"]) == 50
    # when it is fetched again
    with CaptureQueriesContext(connection) as queries:
        again = api.get(CONFIG)
    # then the body comes from the cache: only authentication and the scope touch the database
    assert len(again.json()["offers"]) == 50
    offer_tables = [q["sql"] for q in queries.captured_queries if "offers_" in q["sql"]]
    assert offer_tables == []


def test_another_clinics_config_never_shows_through(clinic_a, clinic_b, in_clinic, app_client_for):
    # given a live offer in each clinic
    offer_a = make_offer(clinic_a, in_clinic, title="A's")
    make_offer(clinic_b, in_clinic, title="B's")
    # when clinic A's app fetches
    response = fetch(app_client_for, clinic_a)
    # then it sees A's clinic and offer only, and B's tag does not match A's
    assert response.json()["clinic"]["slug"] == "clinic-a"
    assert offer_ids(response) == [offer_a.promotion_key]
    assert fetch(app_client_for, clinic_b)["ETag"] != response["ETag"]


def test_the_config_needs_the_app_key(client):
    # when the config is fetched without a key, and with a wrong one
    missing = client.get(CONFIG)
    wrong = client.get(CONFIG, HTTP_X_APP_KEY="app_wrong")
    # then both are 401
    assert missing.status_code == 401 and wrong.status_code == 401


def test_a_warm_config_fetch_makes_no_database_round_trip(clinic_a, django_assert_num_queries):
    # given the config fetched once (cache filled, app key lookup cached)
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_X_APP_KEY=clinic_a.app_key)
    first = api.get("/api/v1/app/config")
    assert first.status_code == 200
    # when it is fetched again, with and without the ETag
    with django_assert_num_queries(0):
        again = api.get("/api/v1/app/config")
        not_modified = api.get("/api/v1/app/config", HTTP_IF_NONE_MATCH=first["ETag"])
    # then both are answered from the cache alone
    assert again.content == first.content
    assert not_modified.status_code == 304


@pytest.mark.redis
def test_with_redis_as_the_shared_cache_a_warm_fetch_reads_nothing_and_a_change_shows_next_fetch(
        clinic_a, in_clinic, app_client_for, django_capture_on_commit_callbacks, redis_cache, monkeypatch):
    from clinic_crm.common import tracked_cache

    monkeypatch.setattr(tracked_cache, "MAX_AGE", 60)  # however slow the machine, the copy does not age out
    # given production's cache (Redis) and a config fetched twice, so this process holds the version
    live = make_offer(clinic_a, in_clinic, title="Live")
    api = app_client_for(clinic_a)
    first = api.get(CONFIG)
    api.get(CONFIG)
    commands_before = redis_cache.info("commandstats")
    # when it is fetched again, warm
    warm = api.get(CONFIG)
    commands_after = redis_cache.info("commandstats")
    # then the body is the same and Redis was not asked for anything
    assert warm.content == first.content
    assert commands_after == {**commands_before, "cmdstat_info": commands_after["cmdstat_info"]}
    # and when staff unpublish the offer (in any process: the bump goes through Redis)
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        services.unpublish_offer(offer=Offer.objects.get(pk=live.pk))
    after = api.get(CONFIG, HTTP_IF_NONE_MATCH=first["ETag"])
    # then the very next fetch no longer lists it
    assert after.status_code == 200 and after["ETag"] != first["ETag"]
    assert offer_ids(after) == []


def test_with_a_cache_that_keeps_nothing_every_fetch_is_built_and_never_a_false_304(
        clinic_a, in_clinic, app_client_for, django_capture_on_commit_callbacks, settings):
    # given caches that keep nothing (CACHE_URL=dummycache://) and a config fetched once
    dummy = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    settings.CACHES = {"default": dummy, "local": dummy}
    settings.CACHE_IN_PROCESS = False
    live = make_offer(clinic_a, in_clinic, title="Live")
    first = fetch(app_client_for, clinic_a)
    # when staff unpublish the offer and the app revalidates with its tag
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        services.unpublish_offer(offer=Offer.objects.get(pk=live.pk))
    again = fetch(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=first["ETag"])
    # then it gets the current body, not a 304 for a tag that no longer describes it
    assert offer_ids(first) == [live.promotion_key]
    assert again.status_code == 200 and offer_ids(again) == []


def test_the_warm_fetch_answered_before_drf_is_the_same_response_drf_gives(clinic_a, in_clinic, app_client_for,
                                                                           rf):
    # given a live offer and the config fetched once through the URL (the path that skips DRF)
    from clinic_crm.patient_app.apis import AppConfigApi

    make_offer(clinic_a, in_clinic)
    through_url = fetch(app_client_for, clinic_a)
    # when the same request goes through the DRF view itself
    request = rf.get(CONFIG, HTTP_X_APP_KEY=clinic_a.app_key)
    through_drf = AppConfigApi.as_view()(request)
    # then status, body and caching headers are identical
    assert (through_url.status_code, through_url.content) == (through_drf.status_code, through_drf.content)
    for header in ("ETag", "Cache-Control", "Content-Type"):
        assert through_url[header] == through_drf[header]


def test_a_deactivated_clinics_key_and_other_methods_still_get_drfs_answers(clinic_a, app_client_for):
    # given the app's client and a config fetched once
    api = app_client_for(clinic_a)
    assert api.get(CONFIG).status_code == 200
    # when a POST is sent, and when the clinic is deactivated and the app fetches again
    post = api.post(CONFIG, {}, format="json")
    clinic_a.is_active = False
    clinic_a.save(update_fields=["is_active"])
    from clinic_crm.tenancy.auth import forget_app_key

    forget_app_key(clinic_a.app_key)
    inactive = api.get(CONFIG)
    # then the POST is 405 and the deactivated clinic's key is refused, in the API's error shape
    assert_error(post, 405, "method_not_allowed")
    assert_error(inactive, 401, "authentication_failed")


@pytest.fixture
def config_builds(monkeypatch):
    """How many times a fetch went past the process's kept answer to get_app_config."""
    from clinic_crm.patient_app import config as app_config

    calls = []
    real = app_config.get_app_config

    def counted(**kwargs):
        calls.append(kwargs["clinic"].pk)
        return real(**kwargs)

    monkeypatch.setattr(app_config, "get_app_config", counted)
    return calls


def test_a_warm_fetch_is_the_answer_the_process_kept_until_the_version_changes(
        clinic_a, in_clinic, app_client_for, django_capture_on_commit_callbacks, config_builds):
    # given a live offer and the config fetched once
    live = make_offer(clinic_a, in_clinic, title="Live")
    api = app_client_for(clinic_a)
    first = api.get(CONFIG)
    # when it is fetched twice more, once revalidating
    again = api.get(CONFIG)
    not_modified = api.get(CONFIG, HTTP_IF_NONE_MATCH=first["ETag"])
    # then both come from the kept answer: nothing was looked up again
    assert config_builds == [clinic_a.pk]
    assert again.content == first.content and not_modified.status_code == 304
    # and when staff unpublish the offer, the next fetch is looked up afresh and no longer lists it
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        services.unpublish_offer(offer=Offer.objects.get(pk=live.pk))
    after = api.get(CONFIG, HTTP_IF_NONE_MATCH=first["ETag"])
    assert config_builds == [clinic_a.pk, clinic_a.pk]
    assert after.status_code == 200 and offer_ids(after) == []


def test_a_profile_change_replaces_the_kept_answer_on_the_next_fetch(
        clinic_a, app_client_for, django_capture_on_commit_callbacks, config_builds):
    # given the config fetched, so the process keeps the clinic's row and answer
    api = app_client_for(clinic_a)
    before = api.get(CONFIG)
    # when staff rename the clinic (the change commits; no time passes)
    with django_capture_on_commit_callbacks(execute=True):
        update_clinic(clinic=clinic_a, data={"name": "Smile Studio Renamed"})
    after = api.get(CONFIG, HTTP_IF_NONE_MATCH=before["ETag"])
    # then the next fetch has the new name under a new tag
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert after.json()["clinic"]["name"] == "Smile Studio Renamed"
    assert len(config_builds) == 2


def test_a_replaced_app_key_is_refused_on_the_next_fetch_in_the_same_process(clinic_a, app_client_for,
                                                                            django_capture_on_commit_callbacks):
    from clinic_crm.tenancy.services import regenerate_app_key

    # given the config fetched with the clinic's key, so the process keeps its answer
    old = app_client_for(clinic_a)
    assert old.get(CONFIG).status_code == 200
    # when staff issue a new key
    with django_capture_on_commit_callbacks(execute=True):
        regenerate_app_key(clinic=clinic_a)
    # then the old key is refused at once and the new one gets the config
    assert_error(old.get(CONFIG), 401, "authentication_failed")
    assert app_client_for(clinic_a).get(CONFIG).status_code == 200


def test_with_caching_in_process_off_every_fetch_is_looked_up(clinic_a, app_client_for, settings, config_builds):
    # given the per-process copies switched off (CACHE_URL=dummycache:// does this)
    settings.CACHE_IN_PROCESS = False
    api = app_client_for(clinic_a)
    # when the config is fetched twice
    api.get(CONFIG)
    api.get(CONFIG)
    # then both fetches went to get_app_config
    assert config_builds == [clinic_a.pk, clinic_a.pk]


def test_an_occasion_offer_is_in_the_app_only_inside_its_window_or_lead_time(clinic_a, in_clinic, app_client_for,
                                                                            django_capture_on_commit_callbacks):
    # given Black Friday (27 Nov 2026) published, first with no lead time, then shown ten days ahead
    with in_clinic(clinic_a):
        friday = AutomatedOffer.objects.get(occasion=Occasion.BLACK_FRIDAY)
        services.configure_automated_offer(automated_offer=friday, data={"active": True, "published": True})

    def listed(when):
        with time_machine.travel(when, tick=False):
            return [(o["occasion"], o["redeemable"]) for o in fetch(app_client_for, clinic_a).json()["offers"]]

    # then published in January it is not in the app months ahead, nor the week before
    assert listed(datetime(2026, 1, 10, 12, 0, tzinfo=LONDON)) == []
    assert listed(datetime(2026, 11, 20, 12, 0, tzinfo=LONDON)) == []
    # with ten days' lead it shows as "coming soon" (not redeemable) from 17 November, not before
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        services.configure_automated_offer(automated_offer=friday, data={"app_lead_days": 10})
    assert listed(datetime(2026, 11, 16, 12, 0, tzinfo=LONDON)) == []
    assert listed(datetime(2026, 11, 20, 12, 0, tzinfo=LONDON)) == [("black_friday", False)]
    # and once it fires it is redeemable until its window ends, then gone
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        friday.refresh_from_db()
        services.fire_automated_offer(clinic=clinic_a, automated_offer=friday, occurrence=date(2026, 11, 27))
    assert listed(datetime(2026, 11, 28, 12, 0, tzinfo=LONDON)) == [("black_friday", True)]
    assert listed(datetime(2026, 12, 10, 12, 0, tzinfo=LONDON)) == []
