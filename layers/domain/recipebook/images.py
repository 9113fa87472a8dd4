"""A recipe's image, recorded only once it has really arrived.

The upload URL (valet.image_upload) lets a client PUT straight to S3, under a key of its own
for each upload (`recipes/<id>/images/<upload id>`), so a new upload never overwrites the image
being served; the bucket's ObjectCreated notification then runs the image check on it. The
object is read back (its first bytes and its size) and kept only if it is what the API
accepts: an image/jpeg, image/png or image/webp whose first bytes are that format's
signature, no larger than the upload grant allows. A good one is recorded on the recipe (a
new version, and a `recipe.image_added` event through the outbox for its consumers) and the
image it replaces is deleted; a bad one is deleted, so nothing unchecked is ever served.

S3 delivers a notification at least once and in no set order: recording the same key again
changes nothing, and an upload older than the recorded image (checked late) is dropped, so
the last upload wins."""

import logging
import os
import re
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from cloudpatterns import outbox
from cloudpatterns.db import database

from . import caching
from .models import MAX_IMAGE_BYTES
from .valet import s3_client

log = logging.getLogger(__name__)

KEY = re.compile(r"recipes/(\d+)/images/[0-9a-f]{32}")
# The first bytes of each format the API accepts (their specifications' signatures).
SIGNATURES = {
    "image/png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda head: head.startswith(b"\xff\xd8\xff"),
    "image/webp": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
}
RECORDED, REFUSED, IGNORED, GONE, SUPERSEDED = "recorded", "refused", "ignored", "gone", "superseded"


def on_object_created(record: dict, request_id: str | None = None, context=None) -> str:
    """One S3 event record: RECORDED, REFUSED (and deleted), SUPERSEDED (older than the image
    recorded; deleted), IGNORED (not a recipe image) or GONE (deleted before it was checked,
    or its recipe was)."""
    bucket = record["s3"]["bucket"]["name"]
    key = unquote_plus(record["s3"]["object"]["key"])  # S3 sends the key URL-encoded
    match = KEY.fullmatch(key)
    if match is None or bucket != os.environ.get("UPLOADS_BUCKET"):
        return IGNORED
    recipe_id = int(match.group(1))
    head = _head(bucket, key)
    if head is None:
        return GONE
    first_bytes, content_type, size, modified = head
    problem = _problem(content_type, first_bytes, size)
    if problem:
        log.warning("refused %s for recipe %d: %s; the object is deleted", key, recipe_id, problem)
        s3_client().delete_object(Bucket=bucket, Key=key)
        return REFUSED
    outcome, replaced = _record(recipe_id, key, modified, content_type, size, request_id, context)
    for old in [key] if outcome == SUPERSEDED else [replaced] if replaced else []:
        s3_client().delete_object(Bucket=bucket, Key=old)
    return outcome


def _head(bucket: str, key: str):
    """(first bytes, content type, size, last modified) of the object; None when it is gone."""
    try:
        answer = s3_client().get_object(Bucket=bucket, Key=key, Range="bytes=0-15")
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    size = int(answer.get("ContentRange", "/0").rsplit("/", 1)[-1] or 0)
    return answer["Body"].read(), answer.get("ContentType", ""), size, answer["LastModified"]


def _problem(content_type: str, head: bytes, size: int) -> str | None:
    check = SIGNATURES.get(content_type.split(";")[0].strip().lower())
    if check is None:
        return f"content type {content_type or 'none'} is not one of {', '.join(SIGNATURES)}"
    if not check(head):
        return f"its bytes are not {content_type}"
    if not 0 < size <= MAX_IMAGE_BYTES:
        return f"{size} bytes (at most {MAX_IMAGE_BYTES})"
    return None


def _record(recipe_id: int, key: str, modified, content_type: str, size: int, request_id, context):
    """The image on the recipe, with its event in the same transaction: (outcome, the key it
    replaced). The recipe's row is locked while the current image is compared with this one."""
    events: list[dict] = []

    def work(cursor):
        events.clear()
        cursor.execute("SELECT image_key, image_uploaded_at FROM recipes WHERE id = %s FOR UPDATE", (recipe_id,))
        row = cursor.fetchone()
        if row is None:
            return GONE, None
        if row["image_key"] == key:
            return RECORDED, None  # delivered again: recorded already
        if row["image_uploaded_at"] is not None and row["image_uploaded_at"] > modified:
            return SUPERSEDED, None  # checked after a later upload was recorded
        cursor.execute("""UPDATE recipes SET image_key = %s, image_uploaded_at = %s, version = version + 1,
                          updated_at = now() WHERE id = %s RETURNING version""", (key, modified, recipe_id))
        event = outbox.envelope("recipe.image_added", recipe_id, {"id": recipe_id, "content_type": content_type,
                                                                  "size": size}, request_id,
                                cursor.fetchone()["version"])
        outbox.record(cursor, event)
        events.append(event)
        return RECORDED, row["image_key"]

    outcome, replaced = database.run(work, context=context)
    if events:
        caching.forget_recipe(recipe_id)  # as every write does: its next read shows the image
        outbox.publish_after_commit(database, list(events), context)
    return outcome, replaced
