"""Rate limits for the patient app's endpoints, keyed on what a caller cannot vary at will (CORE-7)."""

from rest_framework.throttling import SimpleRateThrottle


class AppClientThrottle(SimpleRateThrottle):
    """Per clinic and client address (the address as the deployment's proxies saw it: NUM_PROXIES).
    Subclasses name their `scope`; its rate is in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": f"{request.user.clinic.pk}:{self.get_ident(request)}"}


class ClinicThrottle(SimpleRateThrottle):
    """Per clinic, whoever asks from wherever: a ceiling for one clinic's callers together (many tokens from
    many addresses), far above what its patients do, so a distributed attempt still runs out."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": str(request.user.clinic.pk)}


class PatientThrottle(SimpleRateThrottle):
    """Per signed-in patient, whatever client or address they use."""

    def get_cache_key(self, request, view):
        patient_id = getattr(request.user, "patient_id", None)
        if patient_id is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"{request.user.clinic.pk}:{patient_id}"}
