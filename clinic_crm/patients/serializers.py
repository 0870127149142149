"""Patient serializers shared by the app and POS APIs (API.md, Resources: Patient)."""

from rest_framework import serializers

from clinic_crm.common import json_fields as fields
from clinic_crm.patients.models import Patient


class PatientOutput(fields.ModelSerializer):
    id = fields.CharField(read_only=True)

    class Meta:
        model = Patient
        fields = ["id", "external_id", "first_name", "last_name", "email", "phone", "date_of_birth",
                  "push_enabled", "custom_fields", "last_visit_at", "created_at", "updated_at"]
        ref_name = "Patient"


class PatientUpsertInput(serializers.Serializer):
    first_name = fields.CharField(max_length=80, required=False)
    last_name = fields.CharField(max_length=80, required=False, allow_blank=True)
    email = fields.EmailField(required=False, allow_blank=True)
    phone = fields.CharField(max_length=32, required=False, allow_blank=True)
    date_of_birth = fields.DateField(required=False, allow_null=True)
    push_enabled = fields.BooleanField(required=False)
    custom_fields = serializers.DictField(required=False)

    class Meta:
        ref_name = "PatientUpsertInput"
