"""Every malformed JSON body is a 400 in the API's error shape, never a 500."""

import pytest

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["[" * 3000 + "]" * 3000, '{"a": ' * 3000 + "1" + "}" * 3000, "{", '{"a": NaN}'])
def test_a_body_nested_past_the_recursion_limit_or_not_json_is_a_400(clinic_a, pos_client_for, text):
    # given a POS key and a body that is not JSON the API takes: a few KB of nested brackets, a
    # cut-off object, a NaN
    api = pos_client_for(clinic_a)
    # when it is posted to an endpoint that reads JSON through DRF's parser
    response = api.post("/api/v1/pos/orders", text, content_type="application/json")
    # then it is refused as invalid input
    assert_error(response, 400, "validation_error")
