"""Load a realistic demo: two clinics in different timezones and currencies, staff of every role,
a few hundred patients with birthdays, and orders with discounts. Safe to run again.

Every discounted order is made through the same flows the till uses (a promo code, an offer, a card,
an offer response), so each has its ledger row: an offer's "used" count, its redemptions page, the
Promotions page, the main dashboard and Revenue by source all show the same numbers. The months of
history are written as if each redemption happened on its day (`_as_of`).
"""

import contextlib
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from clinic_crm.common.choices import DiscountType
from clinic_crm.common.errors import ApplicationError
from clinic_crm.orders.models import Order, OrderLine
from clinic_crm.patients.models import Patient
from clinic_crm.patients.rfm import recompute_rfm
from clinic_crm.tenancy.choices import ApiScope, Role
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.events import StaffActor
from clinic_crm.tenancy.models import ApiKey, Clinic
from clinic_crm.tenancy.services import (
    create_api_key,
    create_clinic,
    create_staff,
    revoke_api_key,
)
from coupons import services as card_services
from coupons.models import CardTemplate, Feedback
from offers.choices import Occasion
from offers.models import AutomatedOffer, Offer
from offers.services import configure_automated_offer, create_offer
from offers.services.redemption import claimable_offer_terms, redeem_offer_at_till
from promos.events import Actor
from promos.models import Promo
from promos.services import (
    create_promo,
    generate_personal_codes,
    pause_promo,
    redeem_promo_code,
    update_promo,
)
from redemptions.choices import ActorKind, ExportFormat, ExportSchedule, ResponseSource, ResponseStatus
from redemptions.models import ExportDefinition, ExportRun, OfferResponse
from redemptions.services import Actor as ResponseActor
from redemptions.services import assign_response, complete_response, transition_response
from redemptions.services.exports import execute_export, save_export_definition

PASSWORD = "demo-password"
HISTORY_DAYS = 120
DEMO_KEY_NAME = "Demo POS"

CLINICS = [
    {
        "name": "Harley Street Smiles", "slug": "harley-street", "timezone_name": "Europe/London",
        "currency": "GBP", "locale": "uk", "mail": "harley.demo",
        "treatments": [("Check-up & clean", "65.00"), ("Teeth whitening", "350.00"), ("Hygienist visit", "85.00"),
                       ("Composite filling", "160.00"), ("Invisalign consultation", "95.00"), ("Anti-wrinkle treatment", "220.00")],
    },
    {
        "name": "Brooklyn Family Dental", "slug": "brooklyn-dental", "timezone_name": "America/New_York",
        "currency": "USD", "locale": "us", "mail": "brooklyn.demo",
        "treatments": [("Exam & cleaning", "140.00"), ("Whitening", "450.00"), ("Kids' check-up", "90.00"),
                       ("Filling", "210.00"), ("Night guard", "380.00"), ("Fluoride treatment", "45.00")],
    },
]

FIRST = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Sophia", "Grace", "Lily", "Freya", "Emily", "Noah", "Oliver",
         "George", "Arthur", "Leo", "Harry", "Oscar", "Jack", "Theo", "Charlie", "Maya", "Zara", "Aisha", "Priya",
         "Daniel", "Samuel", "Ethan", "Lucas", "Chloe", "Hannah", "Sofia", "Elena", "Mateo", "Omar", "Yusuf", "Ruby"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson", "Wright",
        "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Khan", "Clarke", "Garcia", "Martinez",
        "Nguyen", "Kim", "Cohen", "Rossi", "Murphy", "O'Brien", "Singh", "Ali", "Lewis", "Young", "King", "Scott"]


@contextlib.contextmanager
def _as_of(moment: datetime):
    """Write the demo's history as of `moment`: every "now" the flows read (and auto_now_add) is it."""
    real = timezone.now
    timezone.now = lambda: moment
    try:
        yield
    finally:
        timezone.now = real


class Command(BaseCommand):
    help = "Load the demo clinics, staff, patients and orders (idempotent) and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=240)
        parser.add_argument("--orders", type=int, default=700)

    def handle(self, *args, **opts):
        User = get_user_model()
        lines = []
        for spec in CLINICS:
            with transaction.atomic():
                clinic = Clinic.objects.filter(slug=spec["slug"]).first() or create_clinic(
                    name=spec["name"], slug=spec["slug"], timezone_name=spec["timezone_name"],
                    currency=spec["currency"], locale=spec["locale"],
                )
                for role in Role.values:
                    create_staff(clinic=clinic, email=f"{role}@{spec['mail']}", role=role, password=PASSWORD,
                                 first_name=role.capitalize(), last_name=spec["name"].split()[0])
                with clinic_scope(clinic.pk):
                    if not Patient.objects.exists():
                        self._seed(clinic, spec, opts["patients"], opts["orders"])
                    if not Offer.objects.exists():
                        self._seed_offers(clinic)
                    if not Promo.objects.exists():
                        self._seed_promos(clinic)
                        recompute_rfm(clinic=clinic)  # so the history's redemptions count by segment
                        self._seed_history(clinic)
                    if not CardTemplate.objects.exists():
                        self._seed_cards(clinic)
                    if not OfferResponse.objects.exists():
                        self._seed_responses(clinic)
                    if not ExportDefinition.objects.exists():
                        self._seed_exports(clinic)
                    recompute_rfm(clinic=clinic)
                    patients, orders = Patient.objects.count(), Order.objects.count()
                for old in ApiKey.objects.filter(clinic=clinic, name=DEMO_KEY_NAME, revoked_at__isnull=True):
                    revoke_api_key(api_key=old)
                _, api_key = create_api_key(clinic=clinic, name=DEMO_KEY_NAME, scopes=[ApiScope.POS, ApiScope.EVENTS])
            lines.append((clinic, spec, patients, orders, api_key))

        # One login in both clinics, to show switching.
        multi = "alex@demo.clinic"
        create_staff(clinic=lines[0][0], email=multi, role=Role.OWNER, password=PASSWORD, first_name="Alex", last_name="Morgan")
        create_staff(clinic=lines[1][0], email=multi, role=Role.MANAGER, password=PASSWORD)
        admin = User.objects.filter(email__iexact="admin@demo.clinic").first()
        if admin is None:
            admin = User.objects.create_superuser(username="admin@demo.clinic", email="admin@demo.clinic", password=PASSWORD)

        out = self.stdout.write
        out(self.style.SUCCESS("Demo data is ready."))
        out(f"All demo passwords: {PASSWORD}")
        out(f"  {multi:<28} owner of {lines[0][0].name}, manager of {lines[1][0].name}")
        out(f"  {'admin@demo.clinic':<28} platform admin (/admin/)")
        for clinic, spec, patients, orders, api_key in lines:
            out("")
            out(f"{clinic.name}  /c/{clinic.slug}/  ({clinic.timezone}, {clinic.currency}) · {patients} patients, {orders} orders")
            for role in Role.values:
                out(f"  {role + '@' + spec['mail']:<28} {role}")
            out(f"  App key: {clinic.app_key}")
            out(f"  API key: {api_key}")

    def _seed_offers(self, clinic):
        today = timezone.now().astimezone(clinic.tzinfo).date()
        for name, title, kind, value, published, cap in [
            ("Spring whitening offer", "£25 off teeth whitening", DiscountType.AMOUNT, Decimal("25.00"), True, 50),
            ("New patient exam", "Your first exam on us", DiscountType.FREE_TREATMENT, None, True, None),
            ("Invisalign consultation", "20% off your Invisalign consultation", DiscountType.PERCENT,
             Decimal("20"), False, None),
        ]:
            create_offer(clinic=clinic, data={
                "name": name, "title": title, "description": "Book online or at reception.", "discount_type": kind,
                "discount_value": value, "valid_from": today - timedelta(days=HISTORY_DAYS + 10),
                "valid_until": today + timedelta(days=60), "published": published, "max_uses": cap,
            })
        for occasion, value, published in [(Occasion.CHRISTMAS, Decimal("20"), True),
                                           (Occasion.BIRTHDAY, Decimal("15"), True),
                                           (Occasion.BLACK_FRIDAY, Decimal("30"), False)]:
            automated = AutomatedOffer.objects.get(occasion=occasion)
            configure_automated_offer(automated_offer=automated, data={"discount_value": value, "active": True,
                                                                       "published": published})

    def _seed_promos(self, clinic):
        actor = Actor(id=None, name="Demo setup", email="setup@demo.clinic")
        today = timezone.now()
        smile = create_promo(clinic=clinic, actor=actor, data={
            "name": "Welcome 10%", "code": "SMILE10", "discount_type": DiscountType.PERCENT,
            "discount_value": Decimal("10"), "status": "active", "max_uses": 500, "max_uses_per_customer": 1,
            "marketing_cost": Decimal("400.00"), "show_banner": True,
        })
        create_promo(clinic=clinic, actor=actor, data={
            "name": "Spend more, save more", "code": "TREAT", "kind": "tiered", "status": "active",
            "tiers": [{"min_order": Decimal("100"), "discount_type": DiscountType.PERCENT, "discount_value": Decimal("5")},
                      {"min_order": Decimal("250"), "discount_type": DiscountType.PERCENT, "discount_value": Decimal("10")}],
            "marketing_cost": Decimal("150.00"),
        })
        summer = create_promo(clinic=clinic, actor=actor, data={
            "name": "Summer glow", "code": "SUMMER15", "discount_type": DiscountType.PERCENT,
            "discount_value": Decimal("15"), "status": "active", "ends_at": today + timedelta(days=60),
        })
        pause_promo(promo=summer, actor=actor)
        create_promo(clinic=clinic, actor=actor, data={
            "name": "Refer a friend", "code": "FRIEND20", "discount_type": DiscountType.AMOUNT,
            "discount_value": Decimal("20.00"), "min_order": Decimal("80.00"),
        })
        vip = create_promo(clinic=clinic, actor=actor, data={
            "name": "VIP thank-you", "kind": "personalised", "discount_type": DiscountType.AMOUNT,
            "discount_value": Decimal("30.00"), "status": "active", "max_uses_per_customer": 1,
        })
        generate_personal_codes(promo=vip, patients=list(Patient.objects.order_by("id")[:20]), actor=actor, prefix="VIP")
        update_promo(promo=smile, actor=Actor(id=None, name="Alex Morgan", email="alex@demo.clinic"),
                     data={"max_uses": 600})

    def _seed_history(self, clinic):
        """Months of redemptions at the till, each through the real flow on its own day: the welcome
        code, the tiered code at several order sizes, some personal VIP codes and the whitening offer."""
        rng = random.Random(f"history:{clinic.slug}")
        start = timezone.now() - timedelta(days=HISTORY_DAYS + 10)
        # Everything the history redeems existed before it: its reporting starts before the first day.
        for model in (Offer, AutomatedOffer, Promo):
            model.objects.update(created_at=start)
        prefix = clinic.slug[:3].upper()
        patients = list(Patient.objects.order_by("id"))
        whitening = Offer.objects.get(name="Spring whitening offer")
        vip_codes = list(Promo.objects.get(name="VIP thank-you").codes.order_by("id")[:6])
        others = patients[25:] or patients
        plan = ([("SMILE10", patient, Decimal("120.00") + n * 5) for n, patient in enumerate(patients[:25])]
                + [("TREAT", rng.choice(others), Decimal(rng.choice([90, 120, 180, 260, 320, 410])))
                   for _ in range(18)]
                + [(code.code, code.patient, Decimal("150.00")) for code in vip_codes]
                + [(whitening, rng.choice(others), Decimal("350.00")) for _ in range(14)])
        rng.shuffle(plan)
        for n, (what, patient, total) in enumerate(plan):
            moment = timezone.now() - timedelta(days=rng.randint(1, HISTORY_DAYS), hours=rng.randint(0, 8))
            with _as_of(moment):
                try:
                    if isinstance(what, Offer):
                        redeem_offer_at_till(clinic=clinic, patient=patient, promotion_key=what.promotion_key,
                                             purchase_amount=total, order_reference=f"{prefix}-H{n:03d}")
                    else:
                        redeem_promo_code(code=what, patient=patient, order_reference=f"{prefix}-H{n:03d}",
                                          order_total=total, now=moment)
                except ApplicationError:
                    pass  # a patient the code does not suit (one use each, a minimum order)

    def _seed_responses(self, clinic):
        """Offer responses in every status: claims of the exam offer (clip first), some completed at the till."""
        rng = random.Random(f"responses:{clinic.slug}")
        exam = Offer.objects.get(name="New patient exam")
        exam.clip_required, exam.allow_multiple_responses = True, True
        exam.save(update_fields=["clip_required", "allow_multiple_responses"])
        terms = claimable_offer_terms(promotion_id=exam.pk, today=clinic.today())
        till = ResponseActor(kind=ActorKind.POS, name="API key “Demo POS”")
        patients = list(Patient.objects.order_by("id"))
        for n, patient in enumerate(patients[len(patients) // 4:][:40]):
            response = assign_response(clinic=clinic, patient=patient, terms=terms, source=ResponseSource.CLAIM,
                                       actor=ResponseActor(kind=ActorKind.PATIENT, name=patient.full_name,
                                                           id=patient.pk))
            step = rng.random()
            if step < 0.7:
                response = transition_response(response=response, to=ResponseStatus.CLIPPED,
                                               actor=ResponseActor(kind=ActorKind.PATIENT, name=patient.full_name))
            if step < 0.35:
                complete_response(response=response, actor=till, order_reference=f"{clinic.slug[:3].upper()}-R{n:03d}",
                                  order_total=Decimal("95.00"))
            elif step > 0.9:
                transition_response(response=response, to=ResponseStatus.CANCELED, reason="Moved away",
                                    actor=ResponseActor(kind=ActorKind.STAFF, name="Demo setup"))

    def _seed_exports(self, clinic):
        """A saved export of the completed responses, run once so its file is there to download."""
        definition = save_export_definition(clinic=clinic, created_by="Demo setup", data={
            "name": "Completed exam claims", "fields": ["offer_name", "patient_name", "patient_email", "status",
                                                        "status_changed_at"],
            "filters": {"status": ResponseStatus.COMPLETED}, "format": ExportFormat.CSV,
            "schedule": ExportSchedule.WEEKLY})
        run = ExportRun.objects.create(clinic=clinic, definition=definition, created_by="Demo setup")
        execute_export(clinic_id=clinic.pk, run_id=run.pk)

    def _seed_cards(self, clinic):
        """Coupon, stamp and reward cards held by some patients: installed, redeemed, stamped, rated."""
        actor = StaffActor(id=None, name="Demo setup", email="setup@demo.clinic")
        rng = random.Random(f"cards:{clinic.slug}")
        reward = card_services.create_card_template(clinic=clinic, actor=actor, data={
            "kind": "reward", "name": "Free hygienist visit", "discount_type": DiscountType.FREE_TREATMENT,
            "colour": "#b45309", "validity_days": 90})
        stamps = card_services.create_card_template(clinic=clinic, actor=actor, data={
            "kind": "stamp", "name": "Smile stamps", "stamps_required": 5, "reward_template": reward,
            "colour": "#0369a1", "description": "A stamp every visit; the fifth earns a free hygienist visit."})
        welcome = card_services.create_card_template(clinic=clinic, actor=actor, data={
            "kind": "coupon", "name": "Welcome 20", "discount_type": DiscountType.AMOUNT,
            "discount_value": Decimal("20.00"), "linked_template": stamps, "purchase_amount_required": True,
            "validity_days": 60, "colour": "#7c3aed", "description": "Off your first treatment.",
            "custom_fields": [{"key": "favourite_treatment", "label": "Favourite treatment", "required": False}]})
        comments = ["Lovely, gentle hygienist.", "Quick and friendly.", "", "Parking was hard to find.", "",
                    "Best clinic in town!", "The reminder push was handy.", ""]
        for n, patient in enumerate(Patient.objects.order_by("id")[25:55]):
            card = card_services.issue_card(template=welcome, patient=patient, actor=actor,
                                            utm=rng.choice(["instagram", "front-desk", "sms", "google"]))
            if n % 3 != 2:
                card_services.install_card(card=card, installed_on=rng.choice(["pwa", "pwa", "apple_wallet"]),
                                           custom_fields={"favourite_treatment": rng.choice(["Whitening", "Check-up"])})
            if n % 4 == 0:
                result = card_services.redeem_card(card=card, actor=actor, purchase_amount=Decimal("95.00") + n,
                                                   order_reference=f"{clinic.slug[:3].upper()}-C{n:03d}")
                for _ in range(n % 5):
                    card_services.add_stamp(card=result.linked_card, actor=actor)
            if n == 7:
                card_services.delete_card(card=card, actor=actor)
            if n % 2 == 0:
                feedback = card_services.leave_feedback(patient=patient, rating=rng.choice([3, 4, 5, 5]),
                                                        comment=rng.choice(comments), card=card)
                Feedback.objects.filter(pk=feedback.pk).update(
                    created_at=timezone.now() - timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23)))
            if n == 1 and patient.push_enabled:
                card_services.schedule_card_push(card=card, title="Your welcome card is waiting",
                                                 message="Book this week and use your welcome card.",
                                                 send_at=timezone.now() + timedelta(days=2), actor=actor)

    def _seed(self, clinic, spec, patient_count, order_count):
        rng = random.Random(f"demo:{clinic.slug}")
        tz = clinic.tzinfo
        today = timezone.now().astimezone(tz).date()
        now = timezone.now()
        patients = []
        for i in range(patient_count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if i < 6:  # a few birthdays today and in the next days, so the birthday views have something to show
                soon = today + timedelta(days=i * 2)
                dob = date(rng.randint(1960, 2005), soon.month, min(soon.day, 28))
            else:
                dob = date(rng.randint(1950, 2012), 1, 1) + timedelta(days=rng.randint(0, 364))
            joined = now - timedelta(days=rng.randint(0, 720), minutes=rng.randint(0, 1440))
            patients.append(Patient(
                clinic=clinic, first_name=first, last_name=last,
                email=f"{first}.{last}.{i}@example.com".lower().replace("'", ""),
                phone=f"+44 7700 9{i:05d}" if clinic.currency == "GBP" else f"+1 718 555 {i:04d}",
                date_of_birth=dob, external_id=f"{clinic.slug[:3]}-{1000 + i}",
                push_enabled=rng.random() < 0.7, created_at=joined,
            ))
        # created_at is auto_now_add, so the spread of join dates is written after the insert.
        joined = {p.external_id: p.created_at for p in patients}
        Patient.objects.bulk_create(patients)
        patients = list(Patient.objects.all())
        for p in patients:
            p.created_at = joined[p.external_id]

        orders, order_lines = [], []
        for n in range(order_count):
            patient = rng.choice(patients)
            day = today - timedelta(days=rng.randint(0, 120))
            placed = datetime.combine(day, time(rng.randint(8, 18), rng.choice([0, 15, 30, 45])), tz)
            if placed > now:  # today's orders so far only
                placed = now - timedelta(minutes=rng.randint(5, 600))
            picked = rng.sample(spec["treatments"], k=rng.choice([1, 1, 1, 2]))
            subtotal = sum(Decimal(price) for _, price in picked)
            order = Order(clinic=clinic, patient=patient, reference=f"{clinic.slug[:3].upper()}-{10000 + n}",
                          placed_at=placed, currency=clinic.currency, subtotal=subtotal)
            order.total = order.subtotal - order.discount_amount
            orders.append(order)
            order_lines.append(picked)
        Order.objects.bulk_create(orders, batch_size=500)
        OrderLine.objects.bulk_create(
            [OrderLine(clinic=clinic, order=o, description=d, unit_price=Decimal(p)) for o, picked in zip(orders, order_lines)
             for d, p in picked],
            batch_size=1000,
        )
        last_visits = {}
        for o in orders:
            if o.patient_id not in last_visits or o.placed_at > last_visits[o.patient_id]:
                last_visits[o.patient_id] = o.placed_at
        for patient in patients:
            patient.last_visit_at = last_visits.get(patient.pk)
        Patient.objects.bulk_update(patients, ["last_visit_at", "created_at"], batch_size=500)
