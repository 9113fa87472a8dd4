"""Runs when an object lands under recipes/ in the uploads bucket (its ObjectCreated
notification): checks each uploaded image and records it on its recipe (recipebook/images.py)."""

import logging
import os

from recipebook.images import on_object_created

log = logging.getLogger(__name__)
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


def handler(event, context):
    outcomes = {}
    for record in event.get("Records", []):
        key = record["s3"]["object"]["key"]
        outcomes[key] = on_object_created(record, context.aws_request_id, context)
        log.info("image %s: %s", key, outcomes[key])
    return outcomes
