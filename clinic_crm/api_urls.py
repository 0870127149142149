"""The versioned REST API (API.md). Apps add their own lists under app/, pos/, staff/ and events/."""

from django.urls import include, path

from clinic_crm.dashboard import apis as dashboard_apis
from clinic_crm.orders import apis as order_apis
from clinic_crm.patient_app import apis as patient_app_apis
from clinic_crm.patients import apis as patient_apis
from clinic_crm.tenancy import apis as tenancy_apis
from coupons import apis as coupon_apis
from offers import apis as offer_apis
from promos import apis as promo_apis
from redemptions import apis as response_apis
from redemptions import event_apis

app_urls = [
    # First: the app fetches its config on every open, by far the API's most frequent request.
    path("config", patient_app_apis.app_config_view(), name="app-config"),
    path("auth/code", patient_apis.SignInCodeApi.as_view(), name="app-auth-code"),
    path("auth/token", patient_apis.SignInTokenApi.as_view(), name="app-auth-token"),
    path("me", patient_apis.AppMeApi.as_view(), name="app-me"),
    path("offers/<str:offer_id>/redeem", offer_apis.AppOfferRedeemApi.as_view(), name="app-offer-redeem"),
    path("promos/validate", promo_apis.AppPromoValidateApi.as_view(), name="app-promo-validate"),
    path("feedback", coupon_apis.AppFeedbackApi.as_view(), name="app-feedback"),
    path("offers/<str:offer_id>/claim", response_apis.AppOfferClaimApi.as_view(), name="app-offer-claim"),
    path("responses", response_apis.AppResponseListApi.as_view(), name="app-response-list"),
    path("responses/<str:response_id>/clip", response_apis.AppResponseClipApi.as_view(), name="app-response-clip"),
]

pos_urls = [
    path("patients", patient_apis.PosPatientListApi.as_view(), name="pos-patient-list"),
    path("patients/<str:external_id>", patient_apis.PosPatientDetailApi.as_view(), name="pos-patient-detail"),
    path("orders", order_apis.PosOrderCreateApi.as_view(), name="pos-order-create"),
    path("orders/<str:reference>", order_apis.PosOrderDetailApi.as_view(), name="pos-order-detail"),
    path("offers/<str:offer_id>/redeem", offer_apis.PosOfferRedeemApi.as_view(), name="pos-offer-redeem"),
    path("promos/redeem", promo_apis.pos_promo_redeem_view(), name="pos-promo-redeem"),
    path("coupons/<str:serial>", coupon_apis.PosCouponDetailApi.as_view(), name="pos-coupon-detail"),
    path("coupons/<str:serial>/redeem", coupon_apis.PosCouponRedeemApi.as_view(), name="pos-coupon-redeem"),
    path("coupons/<str:serial>/stamp", coupon_apis.PosCouponStampApi.as_view(), name="pos-coupon-stamp"),
    path("patients/<str:external_id>/responses", response_apis.PosUsableResponsesApi.as_view(),
         name="pos-patient-responses"),
    path("responses/<str:response_id>/complete", response_apis.PosResponseCompleteApi.as_view(),
         name="pos-response-complete"),
    path("responses/<str:response_id>/cancel", response_apis.PosResponseCancelApi.as_view(),
         name="pos-response-cancel"),
]

staff_urls = [
    path("token", tenancy_apis.StaffTokenApi.as_view(), name="staff-token"),
    path("me", tenancy_apis.StaffMeApi.as_view(), name="staff-me"),
    path("offers/", offer_apis.StaffOfferListApi.as_view(), name="staff-offer-list"),
    path("offers/<str:offer_id>", offer_apis.StaffOfferDetailApi.as_view(), name="staff-offer-detail"),
    path("offers/<str:offer_id>/publish", offer_apis.StaffOfferPublishApi.as_view(), name="staff-offer-publish"),
    path("offers/<str:offer_id>/unpublish", offer_apis.StaffOfferUnpublishApi.as_view(),
         name="staff-offer-unpublish"),
    path("offers/<str:offer_id>/activate", offer_apis.StaffOfferActivateApi.as_view(), name="staff-offer-activate"),
    path("offers/<str:offer_id>/deactivate", offer_apis.StaffOfferDeactivateApi.as_view(),
         name="staff-offer-deactivate"),
    path("automated-offers/", offer_apis.StaffAutomatedOfferListApi.as_view(), name="staff-automated-offer-list"),
    path("automated-offers/<str:offer_id>", offer_apis.StaffAutomatedOfferDetailApi.as_view(),
         name="staff-automated-offer-detail"),
    path("automated-offers/<str:offer_id>/publish", offer_apis.StaffAutomatedOfferPublishApi.as_view(),
         name="staff-automated-offer-publish"),
    path("automated-offers/<str:offer_id>/unpublish", offer_apis.StaffAutomatedOfferUnpublishApi.as_view(),
         name="staff-automated-offer-unpublish"),
    path("automated-offers/<str:offer_id>/activate", offer_apis.StaffAutomatedOfferActivateApi.as_view(),
         name="staff-automated-offer-activate"),
    path("automated-offers/<str:offer_id>/deactivate", offer_apis.StaffAutomatedOfferDeactivateApi.as_view(),
         name="staff-automated-offer-deactivate"),
    path("promos/", promo_apis.StaffPromoListApi.as_view(), name="staff-promo-list"),
    path("promos/<str:promo_id>", promo_apis.StaffPromoDetailApi.as_view(), name="staff-promo-detail"),
    path("promos/<str:promo_id>/pause", promo_apis.StaffPromoPauseApi.as_view(), name="staff-promo-pause"),
    path("promos/<str:promo_id>/activate", promo_apis.StaffPromoActivateApi.as_view(), name="staff-promo-activate"),
    path("promos/<str:promo_id>/archive", promo_apis.StaffPromoArchiveApi.as_view(), name="staff-promo-archive"),
    path("card-templates/", coupon_apis.StaffCardTemplateListApi.as_view(), name="staff-card-template-list"),
    path("card-templates/<str:template_id>", coupon_apis.StaffCardTemplateDetailApi.as_view(),
         name="staff-card-template-detail"),
    path("cards/", coupon_apis.StaffCardIssueApi.as_view(), name="staff-card-issue"),
    path("cards/<str:serial>", coupon_apis.StaffCardDetailApi.as_view(), name="staff-card-detail"),
    path("responses/", response_apis.StaffResponseListApi.as_view(), name="staff-response-list"),
    path("responses/<str:response_id>/transition", response_apis.StaffResponseTransitionApi.as_view(),
         name="staff-response-transition"),
    path("offers/<str:offer_id>/responses", response_apis.StaffOfferResponseListApi.as_view(),
         name="staff-offer-responses"),
    path("promotions/", dashboard_apis.StaffPromotionListApi.as_view(), name="staff-promotion-list"),
]

events_urls = [
    path("redemptions", event_apis.EventRedemptionApi.as_view(), name="event-redemption"),
    path("redemptions/batch", event_apis.EventRedemptionBatchApi.as_view(), name="event-redemption-batch"),
    path("redemptions/imports", event_apis.EventImportApi.as_view(), name="event-import"),
    path("redemptions/imports/<str:import_id>", event_apis.EventImportDetailApi.as_view(), name="event-import-detail"),
]

urlpatterns = [
    path("app/", include((app_urls, "app"))),
    path("pos/", include((pos_urls, "pos"))),
    path("staff/", include((staff_urls, "staff"))),
    path("events/", include((events_urls, "events"))),
]
