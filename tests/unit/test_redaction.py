"""Redaction masks secrets by value and by known shapes, never a word of a service's message."""

from __future__ import annotations

import json

import pytest
import requests

from core.logs import REDACTED, redact, register_secret


@pytest.mark.parametrize(("text", "hidden"), [
    ("Authorization: Basic YWJjOmRlZg==", "YWJjOmRlZg=="),
    ("headers {'Authorization': 'Bearer abc.def.ghi'}", "abc.def.ghi"),
    ("sent with Bearer 0123456789abcdef", "0123456789abcdef"),
    ("GET /v3/groups.json?token=abcd1234&page=1", "abcd1234"),
    ("grant_type=refresh_token&refresh_token=r-99887766&x=1", "r-99887766"),
    ('{"password": "hunter22", "user": "x"}', "hunter22"),
    ('{"client_secret":"cs-123456"}', "cs-123456"),
    ("<ns:SessionID>abc-123</ns:SessionID>", "abc-123"),
    ("<password>hunter22</password>", "hunter22"),
    ("https://user:pw123@example.com/", "pw123"),
    ("token eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9"),
])
def test_known_shapes_are_masked(text, hidden):
    cleaned = redact(text)
    assert hidden not in cleaned and REDACTED in cleaned


def test_a_secret_the_app_holds_is_masked_wherever_it_appears():
    register_secret("Zebra-Crossing-4417")
    assert redact("logging in as bob with Zebra-Crossing-4417 now") == \
        f"logging in as bob with {REDACTED} now"


def _response(status: int, body: str) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = body.encode()
    r.url = "https://r1-api.dotdigital.com/v2/x"
    return r


DOTMAILER_ANSWERS = [
    (401, "Authorization has been denied for this request."),
    (403, "Forbidden"),
    (429, "Too many requests."),
    (400, "Error: ERROR_PARAMETER_INVALID"),
    (400, "Email is not a valid email address. ERROR_PARAMETER_INVALID"),
    (400, "Error: ERROR_CONTACT_SUPPRESSED"),
    (400, "Error: ERROR_ADDRESSBOOK_DUPLICATE"),
    (400, "Error: ERROR_IMPORT_TOOMANYACTIVEIMPORTS"),
    (400, "Field already exists. ERROR_NON_UNIQUE_DATAFIELD"),
    (404, "Error: ERROR_ADDRESSBOOK_NOT_FOUND"),
    (400, "Your account has generated excess API activity and is being temporarily capped. "
          "Please contact support. ERROR_APIUSAGE_EXCEEDED"),
    (500, "An error has occurred."),
    (503, ""),
]


@pytest.mark.parametrize(("status", "message"), DOTMAILER_ANSWERS)
@pytest.mark.parametrize("for_check", [False, True])
def test_no_dotmailer_message_loses_a_word(status, message, for_check):
    """The Last result column showed "... password: ******** has been denied for this request."."""
    from connectors.dotmailer.client import map_error

    body = json.dumps({"Message": message}) if message else "<html>Bad gateway</html>"
    error = map_error(_response(status, body), for_check=for_check)
    assert error is not None
    assert redact(error.admin_message) == error.admin_message
    if message and status == 401:
        assert "Authorization has been denied for this request." in redact(error.admin_message)


@pytest.mark.parametrize(("status", "content"), [
    (401, b""), (404, b""), (429, b""), (500, b"<html>down</html>"), (200, b""),
    (200, b"not xml"), (400, b""),
    (500, b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
          b"<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Server was unable to "
          b"process request. ---&gt; Invalid password: session expired</faultstring>"
          b"</soap:Fault></soap:Body></soap:Envelope>"),
])
def test_no_ines_message_loses_a_word(status, content):
    from connectors.base import ConnectorError
    from connectors.ines.client import read_answer

    with pytest.raises(ConnectorError) as raised:
        read_answer("AddClientWithContacts", status, content, creating=True)
    message = raised.value.admin_message
    assert redact(message) == message


def test_no_shared_session_message_loses_a_word():
    from connectors.http import default_error_map

    for status in (401, 429, 500, 502, 503):
        for for_check in (False, True):
            error = default_error_map(_response(status, "<html>x</html>"), "CleverReach",
                                      for_check=for_check)
            assert error is not None and redact(error.admin_message) == error.admin_message
