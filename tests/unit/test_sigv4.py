"""local.auth.sigv4 checked against botocore's signer: requests are signed as an SDK signs them,
turned into what the gateway receives (method, request target, header list, body), and verified."""

import datetime
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.auth.sigv4 import Caller, SigV4Rejected, verify

SIGNED_AT = datetime.datetime(2025, 1, 1, 12, 0, 0)
NOW = SIGNED_AT.replace(tzinfo=datetime.timezone.utc).timestamp()
AKID, SECRET, ACCOUNT = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "123456789012"
HOST = "abcdefgh.lambda-url.us-east-1.on.aws"
BASE = f"https://{HOST}"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    # botocore stamps X-Amz-Date from this; fixing it makes every signature reproducible.
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: SIGNED_AT)


def secrets(access_key):
    return (SECRET, ACCOUNT) if access_key == AKID else None


def sign(method, url, *, data=b"", headers=(), params=None, token=None, region="us-east-1",
         service="lambda", expires=None, signer=None):
    """Signs as botocore does and returns (method, target, headers, body) as they reach the server."""
    request = AWSRequest(method=method, url=url, data=data, params=params or {})
    for name, value in headers:
        request.headers[name] = value      # HTTPHeaders appends: a name given twice is sent twice
    credentials = Credentials(AKID, SECRET, token)
    if signer is None:
        signer = (SigV4Auth(credentials, service, region) if expires is None
                  else SigV4QueryAuth(credentials, service, region, expires=expires))
    signer.add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    # The HTTP client adds Host (botocore signs it from the URL without setting it) and Content-Length.
    sent = list(request.headers.items()) + [("Host", parts.netloc)]
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    if body:
        sent.append(("Content-Length", str(len(body))))
    return method, target, sent, body


def check(request, **kw):
    method, target, headers, body = request
    kw.setdefault("now", NOW)
    kw.setdefault("region", "us-east-1")
    return verify(method, target, headers, body, secret_for=secrets, **kw)


def rejected(request, **kw):
    with pytest.raises(SigV4Rejected) as info:
        check(request, **kw)
    return info.value.reason


def replace_header(headers, name, value):
    return [(n, value if n.lower() == name else v) for n, v in headers]


class LeaveOut(SigV4Auth):
    """A signer that leaves one header out of SignedHeaders (and the signature), validly."""

    def __init__(self, left_out, *args):
        super().__init__(*args)
        self.left_out = left_out

    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        del headers[self.left_out]
        return headers


def test_get_with_repeated_keys_spaces_unicode_and_reserved_characters():
    params = [("b", "2"), ("a", "x y"), ("a", "ü"), ("a", "&=/+?~"), ("c", "")]
    request = sign("GET", f"{BASE}/items", params=params)
    # botocore sends params urlencoded (spaces as '+') but signs them as %20: both must agree.
    assert "a=x+y" in request[1] and "a=%26%3D%2F%2B%3F~" in request[1]
    assert check(request) == Caller(access_key=AKID, account_id=ACCOUNT,
                                    user_arn=f"arn:aws:iam::{ACCOUNT}:root", user_id=ACCOUNT)


def test_get_with_a_query_already_in_the_url():
    url = f"{BASE}/items?z=1&a=x%20y&a=%C3%BC&flag&c=%2F%3D&a=~"
    assert check(sign("GET", url)).access_key == AKID


@pytest.mark.parametrize("query", ["a=%7E", "a=%c3%bc", "a=x/y", "a=x+y"])
def test_a_query_in_the_url_not_in_canonical_form_is_signed_raw_by_botocore(query):
    # botocore signs a query it finds in the URL exactly as written; the server canonicalizes it
    # (as AWS does), so these signatures fail. `params=` or a canonically encoded URL signs right.
    assert rejected(sign("GET", f"{BASE}/items?{query}")) == "the signature does not match"


def test_post_with_a_json_body():
    body = b'{"name": "caf\xc3\xa9", "n": [1, 2]}'
    request = sign("POST", f"{BASE}/orders", data=body, headers=[("Content-Type", "application/json")])
    assert check(request).account_id == ACCOUNT


def test_path_with_spaces_unicode_and_an_encoded_slash():
    # An SDK sends the path percent-encoded; the target is that path, byte for byte.
    request = sign("GET", f"{BASE}/fn/a%20b/%C3%BC/x%2Fy/")
    assert request[1] == "/fn/a%20b/%C3%BC/x%2Fy/"
    assert check(request).access_key == AKID


def test_path_with_dot_and_empty_segments_is_normalized_as_botocore_does():
    request = sign("GET", f"{BASE}/a/./b/../c//d")
    assert request[1] == "/a/./b/../c//d"
    assert check(request).access_key == AKID


def test_a_raw_path_in_the_signed_url_does_not_match_what_goes_over_the_wire():
    # botocore signs a URL holding a raw space as if it were `%20`; the HTTP client then sends
    # `%20`, which the server (and AWS) encodes once more. Clients must sign the encoded URL.
    method, _, headers, body = sign("GET", f"{BASE}/a b")
    assert rejected((method, "/a%20b", headers, body)) == "the signature does not match"


def test_repeated_and_padded_header_values():
    request = sign("GET", f"{BASE}/", headers=[("X-Multi", "one"), ("X-Multi", "  two   words ")])
    assert [v for n, v in request[2] if n == "X-Multi"] == ["one", "  two   words "]
    assert check(request).access_key == AKID


def test_date_header_instead_of_x_amz_date():
    request = sign("GET", f"{BASE}/", headers=[("Date", "placeholder")])
    names = {n.lower() for n, _ in request[2]}
    assert "date" in names and "x-amz-date" not in names
    assert check(request).access_key == AKID


def test_session_token():
    request = sign("GET", f"{BASE}/", token="FwoGZXIvYXdzEXAMPLETOKEN")
    assert ("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLETOKEN") in request[2]
    assert check(request).access_key == AKID


def test_session_token_not_signed():
    credentials = Credentials(AKID, SECRET, "TOKEN")
    request = sign("GET", f"{BASE}/", signer=LeaveOut("x-amz-security-token", credentials, "lambda", "us-east-1"))
    assert rejected(request) == "the session token is not signed"


def test_caller_from_the_credentials_lookup():
    arn, user_id = f"arn:aws:iam::{ACCOUNT}:user/alice", "AIDAEXAMPLEUSERID"
    method, target, headers, body = sign("GET", f"{BASE}/")
    caller = verify(method, target, headers, body, secret_for=lambda k: (SECRET, ACCOUNT, arn, user_id),
                    region="us-east-1", now=NOW)
    assert caller == Caller(access_key=AKID, account_id=ACCOUNT, user_arn=arn, user_id=user_id)


def test_presigned_get():
    request = sign("GET", f"{BASE}/items?q=a%20b&n=1", expires=900)
    assert "X-Amz-Signature=" in request[1] and not any(n == "Authorization" for n, _ in request[2])
    assert check(request, now=NOW + 899).access_key == AKID


def test_presigned_get_with_session_token():
    request = sign("GET", f"{BASE}/items", expires=900, token="TOKEN/with+reserved=")
    assert "X-Amz-Security-Token=TOKEN%2Fwith%2Breserved%3D" in request[1]
    assert check(request).access_key == AKID


def test_presigned_with_unsigned_payload_as_s3_style_signers_write_it():
    class S3Style(SigV4QueryAuth):
        def payload(self, request):
            return "UNSIGNED-PAYLOAD"

    request = sign("PUT", f"{BASE}/up", signer=S3Style(Credentials(AKID, SECRET), "lambda", "us-east-1"))
    assert check((request[0], request[1], request[2], b"any body at all")).access_key == AKID


# Each rejection on its own.

def test_no_authorization_at_all():
    assert rejected(("GET", "/items?a=1", [("Host", HOST)], b"")) == "no signature"


def test_tampered_body():
    method, target, headers, _ = sign("POST", f"{BASE}/orders", data=b'{"amount": 10}')
    assert rejected((method, target, headers, b'{"amount": 99}')) == "the signature does not match"


def test_tampered_query():
    method, target, headers, body = sign("GET", f"{BASE}/items?amount=10")
    assert rejected((method, target.replace("10", "99"), headers, body)) == "the signature does not match"
    assert rejected((method, target + "&extra=1", headers, body)) == "the signature does not match"


def test_tampered_presigned_query():
    method, target, headers, body = sign("GET", f"{BASE}/items?amount=10", expires=900)
    assert rejected((method, target.replace("amount=10", "amount=99"), headers, body)) == \
        "the signature does not match"


def test_tampered_signed_header_rejected_but_unsigned_header_free():
    method, target, headers, body = sign("GET", f"{BASE}/", headers=[("X-Role", "reader")])
    assert rejected((method, target, replace_header(headers, "x-role", "admin"), body)) == \
        "the signature does not match"
    extra = headers + [("User-Agent", "changed-after-signing"), ("X-Forwarded-For", "10.0.0.1")]
    assert check((method, target, extra, body)).access_key == AKID


def test_wrong_secret():
    method, target, headers, body = sign("GET", f"{BASE}/")
    with pytest.raises(SigV4Rejected) as info:
        verify(method, target, headers, body, secret_for=lambda k: ("not-the-secret", ACCOUNT),
               region="us-east-1", now=NOW)
    assert info.value.reason == "the signature does not match"


def test_unknown_access_key():
    method, target, headers, body = sign("GET", f"{BASE}/")
    with pytest.raises(SigV4Rejected) as info:
        verify(method, target, headers, body, secret_for=lambda k: None, region="us-east-1", now=NOW)
    assert info.value.reason == "unknown access key"


def test_wrong_region_in_scope():
    assert rejected(sign("GET", f"{BASE}/", region="us-west-2")) == \
        "the credential scope's region is us-west-2, not us-east-1"


def test_wrong_service_in_scope():
    assert rejected(sign("GET", f"{BASE}/", service="execute-api")) == \
        "the credential scope's service is execute-api, not lambda"


def test_date_older_than_five_minutes():
    request = sign("GET", f"{BASE}/")
    assert check(request, now=NOW + 300).access_key == AKID
    assert rejected(request, now=NOW + 301) == "the request expired"
    assert rejected(request, now=NOW - 301) == "the request is dated in the future"


def test_presigned_url_past_its_expiry():
    request = sign("GET", f"{BASE}/items", expires=60)
    assert check(request, now=NOW + 60).access_key == AKID
    assert rejected(request, now=NOW + 61) == "the request expired"


def test_host_not_signed():
    request = sign("GET", f"{BASE}/", signer=LeaveOut("host", Credentials(AKID, SECRET), "lambda", "us-east-1"))
    assert "SignedHeaders=x-amz-date," in dict(request[2])["Authorization"]
    assert rejected(request) == "the host header is not signed"


def test_scope_date_not_the_request_day():
    method, target, headers, body = sign("GET", f"{BASE}/")
    headers = replace_header(headers, "x-amz-date", "20250102T120000Z")
    assert rejected((method, target, headers, body), now=NOW + 86400) == \
        "the credential scope's date is not the request's day"


def test_content_sha256_header_must_match_the_body():
    method, target, headers, body = sign("POST", f"{BASE}/", data=b"abc",
                                         headers=[("X-Amz-Content-SHA256", "0" * 64)])
    assert rejected((method, target, headers, body)) == "the body does not match x-amz-content-sha256"


def test_unsigned_payload_refused_outside_presigned_urls():
    request = sign("POST", f"{BASE}/", data=b"abc", headers=[("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")])
    assert rejected(request) == "UNSIGNED-PAYLOAD is allowed only for presigned URLs"


def test_two_signatures():
    method, target, headers, body = sign("GET", f"{BASE}/items", expires=60)
    headers = headers + [("Authorization", f"AWS4-HMAC-SHA256 Credential={AKID}/20250101/us-east-1/lambda/"
                                           "aws4_request, SignedHeaders=host, Signature=" + "0" * 64)]
    assert rejected((method, target, headers, body)) == "more than one signature"
