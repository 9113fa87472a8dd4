"""The gatekeeper and the valet keys, through the local gateway: who may do what, for how long."""

import json
import re
import time
import urllib.parse
import urllib.request

import jwt
import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model
from cloudpatterns import tokens
from recipebook.api import OPERATIONS
from support import eventually
from support.api import bearer, issue, new_key, revoke_key, signing_key, unique

from infra.aws import emulator_client


@pytest.fixture(scope="module")
def recipe(api):
    return api.post("/recipes", json_body={"title": unique("Guarded")}).json()


def test_public_routes_need_no_credential(api):
    for path in ("/health", "/openapi.json"):
        assert api.get(path, headers={"x-api-key": ""}).status == 200


def test_no_malformed_or_revoked_key_is_401(api):
    assert api.get("/products", headers={"x-api-key": ""}).status == 401
    assert api.get("/products", headers={"x-api-key": "rk_not-a-key"}).status == 401
    key = new_key(api, "products:read")
    assert api.get("/products", headers={"x-api-key": key}).status == 200
    revoke_key(api, key)
    assert api.get("/products", headers={"x-api-key": key}).status == 401


def test_scopes_decide_which_routes_a_key_reaches(api):
    key = new_key(api, "products:read")
    assert api.get("/products", headers={"x-api-key": key}).status == 200
    assert api.post("/products", json_body={"name": unique(), "unit": "g"}, headers={"x-api-key": key}).status == 403
    assert api.get("/recipes", headers={"x-api-key": key}).status == 403
    assert api.get("/config", headers={"x-api-key": key}).status == 403


def test_a_token_narrows_its_issuer_and_is_pinned_to_one_resource(api, recipe):
    other = api.post("/recipes", json_body={"title": unique("Other")}).json()
    valet = issue(api, scopes=["recipes:read"], resource=f"recipes/{recipe['id']}")
    assert valet["expires_at"]
    auth = bearer(valet["token"])
    assert api.get(f"/recipes/{recipe['id']}", headers=auth).status == 200
    assert api.get(f"/recipes/{other['id']}", headers=auth).status == 403
    assert api.get("/recipes", headers=auth).status == 403
    assert api.put(f"/recipes/{recipe['id']}", json_body={"title": "x"}, headers=auth).status == 403


def test_a_token_cannot_widen_rights(api):
    key = new_key(api, "recipes:read", "valet:issue")
    refused = api.post("/valet/tokens", json_body={"scopes": ["recipes:write"]}, headers={"x-api-key": key})
    assert refused.status == 403 and refused.json()["error"]["details"] == {"scopes_not_held": ["recipes:write"]}
    narrow = issue(api, key, scopes=["recipes:read"])
    assert api.get("/recipes", headers=bearer(narrow["token"])).status == 200


def test_lifetime_is_capped_by_configuration(api):
    valet = issue(api, scopes=["recipes:read"], ttl_seconds=86_400)
    claims = jwt.decode(valet["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300  # valet/max-ttl-seconds


def test_revocation_is_immediate_and_only_for_the_issuer(api):
    valet = issue(api, scopes=["recipes:read"])
    other_issuer = new_key(api, "valet:issue")
    assert api.delete(f"/valet/tokens/{valet['id']}", headers={"x-api-key": other_issuer}).status == 403
    assert api.get("/recipes", headers=bearer(valet["token"])).status == 200
    assert api.delete(f"/valet/tokens/{valet['id']}").status == 204
    assert api.get("/recipes", headers=bearer(valet["token"])).status == 403
    assert api.delete("/valet/tokens/0123456789abcdef").status == 404


def test_single_use_is_enforced_atomically(api):
    valet = issue(api, scopes=["recipes:read"], max_uses=1)
    assert api.get("/recipes", headers=bearer(valet["token"])).status == 200
    assert api.get("/recipes", headers=bearer(valet["token"])).status == 403


def test_a_token_dies_with_the_key_that_issued_it(api):
    key = new_key(api, "recipes:read", "valet:issue")
    valet = issue(api, key, scopes=["recipes:read"])
    revoke_key(api, key)
    assert api.get("/recipes", headers=bearer(valet["token"])).status == 403


def test_expired_and_not_yet_valid_tokens_are_401(api):
    key = signing_key(api)
    stale, _ = tokens.issue(key, "local", "key:x", ["recipes:read"], ttl_seconds=60, now=time.time() - 120)
    future, _ = tokens.issue(key, "local", "key:x", ["recipes:read"], ttl_seconds=60, now=time.time() + 120)
    assert api.get("/recipes", headers=bearer(stale)).status == 401
    assert api.get("/recipes", headers=bearer(future)).status == 401


@pytest.mark.parametrize("forge", ["wrong signature", "alg none", "HS512", "wrong audience", "other stage",
                                   "no jti", "garbage"])
def test_forged_tokens_are_401(api, forge):
    key = signing_key(api)
    now = int(time.time())
    claims = {"iss": "recipes-local", "aud": "recipes-api", "sub": "key:x", "jti": "a1", "iat": now, "nbf": now,
              "exp": now + 60, "scp": ["recipes:read"]}
    token = {
        "wrong signature": lambda: jwt.encode(claims, "another key", algorithm="HS256"),
        "alg none": lambda: jwt.encode(claims, None, algorithm="none"),
        "HS512": lambda: jwt.encode(claims, key, algorithm="HS512"),
        "wrong audience": lambda: jwt.encode({**claims, "aud": "elsewhere"}, key, algorithm="HS256"),
        "other stage": lambda: jwt.encode({**claims, "iss": "recipes-prod"}, key, algorithm="HS256"),
        "no jti": lambda: jwt.encode({k: v for k, v in claims.items() if k != "jti"}, key, algorithm="HS256"),
        "garbage": lambda: "not.a.token",
    }[forge]()
    assert api.get("/recipes", headers=bearer(token)).status == 401


def test_a_share_url_reads_that_one_recipe_and_nothing_else(api, recipe):
    shared = api.post(f"/recipes/{recipe['id']}/share")
    assert shared.status == 201
    url = urllib.parse.urlsplit(shared.json()["url"])
    target = f"{url.path}?{url.query}"
    anonymous = {"x-api-key": ""}
    assert api.get(target, headers=anonymous).json()["id"] == recipe["id"]
    query = dict(urllib.parse.parse_qsl(url.query))
    tampered = [
        f"/recipes/{recipe['id'] + 1}?{url.query}",
        f"{url.path}?expires={int(query['expires']) + 60}&signature={query['signature']}",
        f"{url.path}?{url.query}&extra=1",
        f"{url.path}?expires={query['expires']}&signature={'0' * 64}",
        f"{url.path}/items/1?{url.query}",
    ]
    for changed in tampered:
        assert api.request("GET" if "items" not in changed else "DELETE", changed, headers=anonymous).status == 403
    assert api.put(target, json_body={"title": "x"}, headers=anonymous).status == 403
    expired, _ = tokens.presign(signing_key(api), "GET", url.path, ttl_seconds=60, now=time.time() - 120)
    assert api.get(f"{url.path}?{expired}", headers=anonymous).status == 403


def upload(api, recipe_id: int, data: bytes, content_type: str) -> tuple[dict, str]:
    """The upload grant, and the S3 key it was for, once the bytes are PUT with it."""
    grant = api.post(f"/recipes/{recipe_id}/image-upload", json_body={"content_type": content_type, "size": len(data)})
    assert grant.status == 201, grant.text
    body = grant.json()
    request = urllib.request.Request(body["url"], data=data, method="PUT", headers=body["headers"])
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    return body, urllib.parse.urlsplit(body["url"]).path.split("/", 2)[2]  # /<bucket>/<key>, path-style


def notification(api, key: str) -> dict:
    """The bucket's ObjectCreated notification for `key`, from the image check function's
    asynchronous queue, where the endpoint put it (this fixture runs no event runner)."""
    sqs = emulator_client("sqs", api.aws_url, "us-east-1")
    url = sqs.get_queue_url(QueueName="_local-async-RecipeImageCheckFunction")["QueueUrl"]

    def find():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            event = json.loads(message["Body"])
            if event["Records"][0]["s3"]["object"]["key"] == key:
                return event
        return None

    return eventually(find, within=10)


def stored(api, key: str) -> bool:
    s3 = emulator_client("s3", api.aws_url, "us-east-1")
    bucket = api.gateway.model.functions["RecipeImageCheckFunction"].environment["UPLOADS_BUCKET"]
    return s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount") == 1


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def test_an_image_appears_on_its_recipe_only_once_it_has_arrived_and_been_checked(api, recipe):
    body, key = upload(api, recipe["id"], PNG, "image/png")
    assert key.startswith(f"recipes/{recipe['id']}/images/")
    assert api.get(f"/recipes/{recipe['id']}").json()["image_url"] is None  # uploaded, not yet checked
    event = notification(api, key)
    S3Model.model_validate(event)
    assert event["Records"][0]["eventName"] == "ObjectCreated:Put"
    assert api.runtime.invoke("RecipeImageCheckFunction", event).payload == {key: "recorded"}
    shown = api.get(f"/recipes/{recipe['id']}").json()
    with urllib.request.urlopen(shown["image_url"], timeout=10) as answer:
        assert answer.read() == PNG
    version = shown["version"]
    # S3 delivers at least once: the same notification again changes nothing.
    assert api.runtime.invoke("RecipeImageCheckFunction", event).payload == {key: "recorded"}
    assert api.get(f"/recipes/{recipe['id']}").json()["version"] == version
    # S3 (and LocalStack with S3_SKIP_SIGNATURE_VALIDATION=0) refuses an upload whose signed
    # headers differ; moto does not check signatures, so the test checks what was signed.
    signed = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(body["url"]).query))["X-Amz-SignedHeaders"]
    assert {"content-type", "content-length"} <= set(signed.split(";"))
    assert body["headers"] == {"Content-Type": "image/png", "Content-Length": str(len(PNG))}
    for bad in ({"content_type": "text/html", "size": 10}, {"content_type": "image/png", "size": 6 * 1024 * 1024}):
        assert api.post(f"/recipes/{recipe['id']}/image-upload", json_body=bad).status == 400


def test_a_new_image_replaces_the_old_one_and_a_late_check_of_an_older_one_changes_nothing(api):
    recipe = api.post("/recipes", json_body={"title": unique("twice pictured")}).json()
    _, first = upload(api, recipe["id"], PNG, "image/png")
    first_event = notification(api, first)
    time.sleep(1.1)  # S3 keeps LastModified to the second: the second upload is later
    _, second = upload(api, recipe["id"], PNG + b"2", "image/png")
    second_event = notification(api, second)
    assert api.runtime.invoke("RecipeImageCheckFunction", second_event).payload == {second: "recorded"}
    assert api.runtime.invoke("RecipeImageCheckFunction", first_event).payload == {first: "superseded"}
    with urllib.request.urlopen(api.get(f"/recipes/{recipe['id']}").json()["image_url"], timeout=10) as answer:
        assert answer.read() == PNG + b"2"
    assert not stored(api, first) and stored(api, second)  # the older upload is deleted
    time.sleep(1.1)
    _, third = upload(api, recipe["id"], PNG + b"3", "image/png")
    assert api.runtime.invoke("RecipeImageCheckFunction", notification(api, third)).payload == {third: "recorded"}
    assert not stored(api, second) and stored(api, third)  # the image it replaced is deleted


def test_an_upload_that_is_not_the_image_it_claims_is_deleted_and_never_shown(api):
    other = api.post("/recipes", json_body={"title": unique("not an image")}).json()
    _, key = upload(api, other["id"], b"<html>not a png</html>", "image/png")
    assert api.runtime.invoke("RecipeImageCheckFunction", notification(api, key)).payload == {key: "refused"}
    assert api.get(f"/recipes/{other['id']}").json()["image_url"] is None
    assert not stored(api, key)


def test_writes_are_checked_at_the_edge(api):
    assert api.post("/products", body="name=x", headers={"Content-Type": "text/plain"}).status == 415
    assert api.post("/products", body="{oops", headers={"Content-Type": "application/json"}).status == 400
    big = json.dumps({"name": "x", "unit": "g", "description": "d" * 300_000})
    assert api.post("/products", body=big, headers={"Content-Type": "application/json"}).status == 413


def test_handlers_check_again_so_a_cached_authorizer_answer_cannot_outlive_a_token(api, recipe):
    def call(authorizer):
        event = {"httpMethod": "GET", "path": f"/recipes/{recipe['id']}", "pathParameters": {"id": str(recipe["id"])},
                 "headers": {}, "requestContext": {"requestId": "r", "authorizer": authorizer}}
        return api.runtime.invoke("GetRecipeFunction", event).payload["statusCode"]

    valet = issue(api, scopes=["recipes:read"])
    live = {"principalId": f"token:{valet['id']}", "scopes": "recipes:read", "tokenId": valet["id"],
            "expiresAt": int(time.time()) + 60}
    assert call(live) == 200
    assert call({**live, "expiresAt": int(time.time()) - 1}) == 403  # expired since it was authorized
    assert call({**live, "scopes": "products:read"}) == 403
    assert call({**live, "resource": "recipes/999999"}) == 403
    api.delete(f"/valet/tokens/{valet['id']}")
    assert call(live) == 403  # revoked since it was authorized


# -- every protected route against every bad credential ---------------------------------------

def concrete(path: str, recipe_id: int) -> str:
    return re.sub(r"{[^}]+}", lambda m: "0123456789abcdef" if m.group(0) == "{token_id}" else str(recipe_id), path)


BAD_CREDENTIALS = ["none", "malformed", "expired", "wrong signature", "alg none", "wrong audience", "missing scope",
                   "another resource", "revoked", "single use replayed", "tampered share URL"]


def test_matrix_of_bad_credentials_is_never_2xx_or_5xx(api, recipe):
    key = signing_key(api)
    now = time.time()
    revoked = issue(api, scopes=["admin"])
    api.delete(f"/valet/tokens/{revoked['id']}")
    shared = urllib.parse.urlsplit(api.post(f"/recipes/{recipe['id']}/share").json()["url"])
    query = dict(urllib.parse.parse_qsl(shared.query))
    failures = []
    for operation in [op for op in OPERATIONS if not op.public]:
        path = concrete(operation.path, recipe["id"])
        other_scope = "products:read" if operation.scope.startswith("recipes") else "recipes:read"
        replay = issue(api, scopes=[operation.scope], max_uses=1)
        api.request(operation.method, path, headers=bearer(replay["token"]), json_body={} if operation.body else None)
        credentials = {
            "none": {"x-api-key": ""},
            "malformed": {"x-api-key": "rk_bogus"},
            "expired": bearer(tokens.issue(key, "local", "key:x", ["admin"], 60, now=now - 120)[0]),
            "wrong signature": bearer(tokens.issue("nope", "local", "key:x", ["admin"], 60)[0]),
            "alg none": bearer(jwt.encode({"sub": "x", "scp": ["admin"]}, None, algorithm="none")),
            "wrong audience": bearer(jwt.encode({"iss": "recipes-local", "aud": "x", "sub": "key:x", "jti": "j",
                                                 "iat": int(now), "nbf": int(now), "exp": int(now) + 60,
                                                 "scp": ["admin"]}, key, algorithm="HS256")),
            "missing scope": bearer(issue(api, scopes=[other_scope])["token"]),
            "another resource": bearer(issue(api, scopes=[operation.scope], resource="recipes/999999")["token"]),
            "revoked": bearer(revoked["token"]),
            "single use replayed": bearer(replay["token"]),
        }
        for name in BAD_CREDENTIALS[:-1]:
            answer = api.request(operation.method, path, headers=credentials[name],
                                 json_body={} if operation.body else None)
            if answer.status not in (401, 403):
                failures.append(f"{operation.method} {path} with {name}: {answer.status}")
        tampered = f"{path}?expires={int(query['expires']) + 1}&signature={query['signature']}"
        answer = api.request(operation.method, tampered, headers={"x-api-key": ""})
        if answer.status not in (401, 403):
            failures.append(f"{operation.method} {path} with tampered share URL: {answer.status}")
    assert failures == []


def test_a_credential_that_cannot_be_checked_for_a_database_outage_is_a_503_with_retry_after(api):
    """The gatekeeper fails when the database is down (after riding out a restart's worth of
    retries), and API Gateway answers the template's GatewayResponses for AUTHORIZER_FAILURE:
    503 with Retry-After, in the API's error shape; without it, a bare 500."""
    from support.api import project_gateway

    services = {**api.services, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    down = project_gateway(api.template, api.resolver, services, "123456789012", api.admin_key)
    try:
        answer = down.get("/recipes")
    finally:
        down.runtime.stop()
    assert (answer.status, answer.headers["retry-after"]) == (503, "1")
    body = answer.json()
    assert body["error"]["code"] == "dependency_unavailable" and body["requestId"] == answer.headers["x-amzn-requestid"]
