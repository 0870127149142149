"""OpenAPI security schemes for the four ways in (API.md, Authentication)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AppKeyScheme(OpenApiAuthenticationExtension):
    target_class = "clinic_crm.tenancy.auth.AppKeyAuthentication"
    name = ["AppKey", "PatientToken"]

    def get_security_requirement(self, auto_schema):
        from clinic_crm.tenancy.permissions import IsSignedInPatient

        # Signed-in endpoints need both; the others take the app key alone or with a patient token.
        if any(isinstance(p, IsSignedInPatient) for p in auto_schema.view.get_permissions()):
            return [{"AppKey": [], "PatientToken": []}]
        return [{"AppKey": []}, {"AppKey": [], "PatientToken": []}]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-App-Key", "description": "The clinic's app key."},
            {"type": "http", "scheme": "bearer", "description": "A patient token from /api/v1/app/auth/token."},
        ]


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "clinic_crm.tenancy.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>`: a clinic's integration key with scopes pos and/or events."}


class StaffJwtScheme(OpenApiAuthenticationExtension):
    target_class = "clinic_crm.tenancy.auth.StaffJWTAuthentication"
    name = "StaffJWT"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A staff token from POST /api/v1/staff/token."}
