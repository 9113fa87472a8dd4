"""GET /openapi.json: the API's OpenAPI document, generated from the models that validate it."""

import os

from cloudpatterns.http import Response, api_handler
from recipebook.openapi import document

_DOCUMENT = None  # built once per instance: it only changes with the code


@api_handler
def handler(request, context):
    global _DOCUMENT
    if _DOCUMENT is None:
        _DOCUMENT = document(os.environ.get("APP_VERSION", "unknown"))
    return Response(200, _DOCUMENT)
