"""Valet keys: tokens that narrow the rights of whoever issues them, share URLs for one
recipe, and presigned S3 uploads for a recipe's image."""

import datetime
import os
import uuid

import boto3
from botocore.config import Config

from cloudpatterns import tokens
from cloudpatterns.config import config
from cloudpatterns.db import database
from cloudpatterns.errors import Forbidden, NotFound
from cloudpatterns.http import Request, Response
from cloudpatterns.valet_registry import registry
from cloudpatterns.validation import parse

from .models import UploadIn, ValetTokenIn

IMAGE_URL_SECONDS = 300


def signing_key() -> str:
    return config.secret("secrets/token-signing-key")


def stage() -> str:
    return os.environ.get("STAGE", "local")


def max_ttl() -> int:
    return config.get_int("valet/max-ttl-seconds", 300)


def _iso(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat()


def create_token(request: Request) -> Response:
    asked = parse(ValetTokenIn, request.json())
    held = request.scopes
    if "admin" not in held and not set(asked.scopes) <= held:
        missing = sorted(set(asked.scopes) - held)
        raise Forbidden("a token can only narrow the rights of its issuer", details={"scopes_not_held": missing})
    pinned = request.authorizer.get("resource")
    if pinned and asked.resource != pinned:
        raise Forbidden(f"a credential limited to {pinned} can only issue tokens for {pinned}")
    ttl = min(asked.ttl_seconds or max_ttl(), max_ttl())
    parent_expiry = request.authorizer.get("expiresAt")
    if parent_expiry:  # a token issued by a token does not outlive it
        ttl = min(ttl, int(parent_expiry) - int(datetime.datetime.now().timestamp()))
    subject = request.authorizer.get("subject") or request.principal
    token, issued = tokens.issue(signing_key(), stage(), subject, list(asked.scopes), ttl, asked.resource,
                                 asked.max_uses)
    registry.register(issued.id, request.principal, ttl)
    return Response(201, {"token": token, "id": issued.id, "expires_at": _iso(issued.expires_at)})


def revoke_token(request: Request) -> Response:
    token_id = request.path_parameters.get("token_id", "")
    issuer = registry.issuer_of(token_id) if token_id.isalnum() else None
    if issuer is None:
        raise NotFound(f"no valet token {token_id!r} is in circulation")
    if issuer != request.principal and "admin" not in request.scopes:
        raise Forbidden("only the issuer of a token (or an admin) can revoke it")
    registry.revoke(token_id)
    return Response(204)


def share(request: Request) -> Response:
    recipe_id = request.path_int("id")
    _require_recipe(request, recipe_id)
    path = f"/recipes/{recipe_id}"
    query, expires = tokens.presign(signing_key(), "GET", path, max_ttl())
    return Response(201, {"url": f"{_base_url(request)}{path}?{query}", "expires_at": _iso(expires)})


def image_upload(request: Request) -> Response:
    """A presigned PUT; the image is recorded on the recipe only once it has arrived and been
    checked (images.py, run by the bucket's notification), so image_url never names an
    upload that did not happen."""
    recipe_id = request.path_int("id")
    upload = parse(UploadIn, request.json())
    # A key of its own per upload: a new upload never overwrites the image being served.
    key = f"recipes/{recipe_id}/images/{uuid.uuid4().hex}"
    _require_recipe(request, recipe_id)
    ttl = max_ttl()
    url = s3_client().generate_presigned_url(
        "put_object", ExpiresIn=ttl,
        Params={"Bucket": os.environ["UPLOADS_BUCKET"], "Key": key, "ContentType": upload.content_type,
                "ContentLength": upload.size})
    # Both are signed into the URL: the upload must send exactly these.
    headers = {"Content-Type": upload.content_type, "Content-Length": str(upload.size)}
    expires = int(datetime.datetime.now().timestamp()) + ttl
    return Response(201, {"url": url, "headers": headers, "expires_at": _iso(expires)})


def image_url(key: str) -> str:
    return s3_client().generate_presigned_url("get_object", ExpiresIn=IMAGE_URL_SECONDS,
                                        Params={"Bucket": os.environ["UPLOADS_BUCKET"], "Key": key})


_client = None


def s3_client():
    global _client
    if _client is None:
        # Path-style addressing works with every endpoint (AWS, moto, LocalStack).
        _client = boto3.client("s3", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    return _client


def _require_recipe(request: Request, recipe_id: int) -> None:
    def exists(cursor):
        cursor.execute("SELECT 1 FROM recipes WHERE id = %s", (recipe_id,))
        if cursor.fetchone() is None:
            raise NotFound(f"recipe {recipe_id} does not exist")

    database.run(exists, context=request.context)


def _base_url(request: Request) -> str:
    """Where the client reached the API: on AWS the stage is part of the path."""
    host = request.header("Host") or "localhost"
    proto = request.header("X-Forwarded-Proto") or ("https" if host.endswith("amazonaws.com") else "http")
    stage_prefix = f"/{(request.event.get('requestContext') or {}).get('stage', '')}" if host.endswith(
        "amazonaws.com") else ""
    return f"{proto}://{host}{stage_prefix}"
