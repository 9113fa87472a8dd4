"""AWS Signature Version 4, checked on an incoming request: what a Lambda function URL with
`AuthType: AWS_IAM` does before it invokes the function.

Written from AWS's published specification ("Create a signed AWS API request", "Elements of an
AWS API request signature" in the IAM user guide), not from an SDK, so that the tests, which sign
with botocore, check it against an independent implementation. Both forms are handled: the
`Authorization: AWS4-HMAC-SHA256 ...` header and the presigned URL (`X-Amz-Signature` and its
companions in the query string).

Where the specification leaves room, this module does what botocore does, since the client's SDK
is what signs:
- the canonical URI is the path *as it came over the wire* (already percent-encoded once by the
  client), dot segments and empty segments removed, then URI-encoded once more with `/` kept:
  `/a%2Fb` is signed as `/a%252Fb`. That is the spec's "encode each segment twice" for every
  service but S3, counted from the decoded path.
- a `+` in the query string is a space (botocore sends `urlencode`d params, which writes spaces as
  `+`, but signs them as `%20`); a literal plus must come as `%2B`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote_plus, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# A presigned URL lives at most seven days, whatever X-Amz-Expires asks for (the spec's limit).
MAX_EXPIRES_S = 7 * 24 * 3600
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class SigV4Rejected(Exception):
    """The request does not carry a valid signature; `reason` is one short line for the 403."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Caller:
    access_key: str
    account_id: str
    user_arn: str
    user_id: str


def verify(method: str, target: str, headers: list[tuple[str, str]], body: bytes, *,
           secret_for, region: str, service: str = "lambda", now: float | None = None,
           max_skew_s: int = 300) -> Caller:
    """`target` is the request target as received (path and raw query string, percent-encoded as the
    client sent it). `secret_for(access_key) -> (secret_key, account_id) | None`; it may return
    `(secret_key, account_id, user_arn[, user_id])` for a caller that is not the account's root.
    Raises SigV4Rejected."""
    now = time.time() if now is None else now
    path, _, raw_query = target.partition("?")
    pairs = _query_pairs(raw_query)
    header_map = _header_map(headers)
    query_names = {unquote_plus(name) for name, _ in pairs}
    authorization = header_map.get("authorization")
    if authorization and "X-Amz-Signature" in query_names:
        # AWS refuses a request that carries two signatures rather than pick one.
        raise SigV4Rejected("more than one signature")
    if authorization:
        presigned = False
        fields = _authorization_fields(authorization[-1])
        algorithm = fields["algorithm"]
        credential, signed, signature = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
        if "x-amz-date" in header_map:
            amz_date = header_map["x-amz-date"][-1].strip()
        elif "date" in header_map:
            amz_date = _from_http_date(header_map["date"][-1])
        else:
            raise SigV4Rejected("no X-Amz-Date or Date header")
        token = header_map.get("x-amz-security-token")
    elif "X-Amz-Signature" in query_names:
        presigned = True
        params = {}
        for raw_name, value in pairs:
            name = unquote_plus(raw_name)
            if name.startswith("X-Amz-"):
                if name in params:
                    raise SigV4Rejected(f"{name} given twice")
                params[name] = unquote_plus(value)
        missing = [n for n in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                               "X-Amz-SignedHeaders") if n not in params]
        if missing:
            raise SigV4Rejected(f"the presigned URL has no {missing[0]}")
        algorithm, credential = params["X-Amz-Algorithm"], params["X-Amz-Credential"]
        signed, signature = params["X-Amz-SignedHeaders"], params["X-Amz-Signature"]
        amz_date = params["X-Amz-Date"]
        token = params.get("X-Amz-Security-Token")
    else:
        raise SigV4Rejected("no signature")

    if algorithm != ALGORITHM:
        raise SigV4Rejected(f"unsupported signing algorithm {algorithm!r}")
    access_key, scope = _credential(credential, region, service)
    if not _AMZ_DATE.fullmatch(amz_date):
        raise SigV4Rejected("malformed X-Amz-Date")
    if scope.split("/")[0] != amz_date[:8]:
        raise SigV4Rejected("the credential scope's date is not the request's day")
    signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    _check_time(signed_at, now, max_skew_s, params["X-Amz-Expires"] if presigned else None)

    signed_names = sorted({n.strip().lower() for n in signed.split(";") if n.strip()})
    if "host" not in signed_names:
        raise SigV4Rejected("the host header is not signed")
    if token is not None and not presigned and "x-amz-security-token" not in signed_names:
        # An unsigned token could be swapped in transit; AWS requires it signed.
        raise SigV4Rejected("the session token is not signed")
    for name in signed_names:
        if name not in header_map:
            raise SigV4Rejected(f"the signed header {name} is missing")

    found = secret_for(access_key)
    if found is None:
        raise SigV4Rejected("unknown access key")
    secret_key, account_id = found[0], found[1]

    canonical_headers = "".join(
        f"{name}:{','.join(' '.join(v.split()) for v in header_map[name])}\n" for name in signed_names)
    canonical_query = _canonical_query(pairs, drop="X-Amz-Signature" if presigned else None)
    head = "\n".join([method.upper(), _canonical_uri(path), canonical_query, canonical_headers,
                      ";".join(signed_names)])
    key = _signing_key(secret_key, scope)
    signature = signature.strip().lower()
    if not _HEX64.fullmatch(signature):
        raise SigV4Rejected("malformed signature")
    matched = False
    for payload_hash in _payload_hashes(header_map, body, presigned):
        canonical_request = f"{head}\n{payload_hash}"
        string_to_sign = "\n".join([ALGORITHM, amz_date, scope,
                                    hashlib.sha256(canonical_request.encode()).hexdigest()])
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise SigV4Rejected("the signature does not match")

    user_arn = found[2] if len(found) > 2 and found[2] else f"arn:aws:iam::{account_id}:root"
    # For the root user AWS reports the account id as the user id.
    user_id = found[3] if len(found) > 3 and found[3] else account_id
    return Caller(access_key=access_key, account_id=account_id, user_arn=user_arn, user_id=user_id)


def _header_map(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    # Repeated headers keep their order: the spec joins their values with commas, in order received.
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name.strip().lower(), []).append(value)
    return out


def _query_pairs(raw_query: str) -> list[tuple[str, str]]:
    # Names and values stay as sent (still percent-encoded); `key` without `=` has the value "".
    pairs = []
    for piece in raw_query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((name, value))
    return pairs


def _authorization_fields(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    fields = {"algorithm": algorithm}
    for part in rest.split(","):
        name, eq, field = part.strip().partition("=")
        if eq:
            fields[name] = field.strip()
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(name):
            raise SigV4Rejected(f"the Authorization header has no {name}")
    return fields


def _from_http_date(value: str) -> str:
    # A Date header (RFC 7231) stands in for X-Amz-Date; the string to sign uses the ISO form.
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        raise SigV4Rejected("malformed Date header") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _credential(credential: str, region: str, service: str) -> tuple[str, str]:
    """`AKID/20250101/us-east-1/lambda/aws4_request` -> (access key, scope without the key)."""
    parts = credential.strip().split("/")
    if len(parts) != 5 or not parts[0] or parts[4] != "aws4_request":
        raise SigV4Rejected("malformed credential scope")
    access_key, day, scope_region, scope_service, _ = parts
    if not re.fullmatch(r"\d{8}", day):
        raise SigV4Rejected("malformed date in the credential scope")
    if scope_region != region:
        raise SigV4Rejected(f"the credential scope's region is {scope_region}, not {region}")
    if scope_service != service:
        raise SigV4Rejected(f"the credential scope's service is {scope_service}, not {service}")
    return access_key, "/".join(parts[1:])


def _check_time(signed_at: float, now: float, max_skew_s: int, expires: str | None) -> None:
    if signed_at > now + max_skew_s:
        raise SigV4Rejected("the request is dated in the future")
    if expires is None:
        if signed_at < now - max_skew_s:
            raise SigV4Rejected("the request expired")
        return
    if not expires.isdigit() or not 1 <= int(expires) <= MAX_EXPIRES_S:
        raise SigV4Rejected("X-Amz-Expires must be 1 to 604800 seconds")
    if now > signed_at + int(expires):
        raise SigV4Rejected("the request expired")


def _uri_encode(raw: str | bytes, safe: str = "") -> str:
    # quote() keeps exactly the unreserved set A-Z a-z 0-9 - _ . ~ plus `safe`, and writes upper-case hex.
    return quote(raw, safe=safe + "~")


def _canonical_uri(path: str) -> str:
    # As botocore does for every service but S3: dot and empty segments removed from the path as
    # sent, then the (already encoded) path encoded once more, slashes kept.
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and segments:
        normalized += "/"
    return _uri_encode(normalized, safe="/")


def _canonical_query(pairs: list[tuple[str, str]], drop: str | None) -> str:
    # Decoded (a `+` read as a space), then encoded the one canonical way, then sorted by
    # encoded name and value: two spellings of one query sign the same.
    encoded = []
    for name, value in pairs:
        if drop is not None and unquote_plus(name) == drop:
            continue
        encoded.append((_recode(name), _recode(value)))
    return "&".join(f"{name}={value}" for name, value in sorted(encoded))


def _recode(text: str) -> str:
    # Decoding to bytes, not str, keeps a `%FF` that is not UTF-8 intact through the round trip.
    return _uri_encode(unquote_to_bytes(text.replace("+", " ")))


def _payload_hashes(header_map: dict[str, list[str]], body: bytes, presigned: bool) -> list[str]:
    """The payload hashes the signature may have used; more than one only for a presigned URL."""
    body_hash = hashlib.sha256(body).hexdigest()
    if "x-amz-content-sha256" in header_map:
        claimed = header_map["x-amz-content-sha256"][-1].strip()
        if claimed == UNSIGNED_PAYLOAD:
            if not presigned:
                raise SigV4Rejected("UNSIGNED-PAYLOAD is allowed only for presigned URLs")
            return [claimed]
        if claimed.startswith("STREAMING-"):
            raise SigV4Rejected("streaming (chunked) signed payloads are not supported")
        # The header stands in the canonical request for the body, so the body must match it.
        if not hmac.compare_digest(claimed.lower(), body_hash):
            raise SigV4Rejected("the body does not match x-amz-content-sha256")
        return [claimed]
    # A presigned URL is signed before the body is known: botocore's generic signer hashes the
    # (usually empty) body, S3-style signers write UNSIGNED-PAYLOAD; either is accepted.
    return [body_hash, UNSIGNED_PAYLOAD] if presigned else [body_hash]


def _signing_key(secret_key: str, scope: str) -> bytes:
    day, scope_region, scope_service, terminator = scope.split("/")
    key = f"AWS4{secret_key}".encode()
    for part in (day, scope_region, scope_service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
