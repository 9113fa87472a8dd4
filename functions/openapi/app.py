"""GET /openapi.json: the API's OpenAPI document, generated from the models that validate it."""

import os

from cloudpatterns.http import Response
from recipebook.access import endpoint
from recipebook.openapi import document

_DOCUMENT = None  # built once per instance: it only changes with the code


@endpoint("openapi")
def handler(request):
    global _DOCUMENT
    if _DOCUMENT is None:
        _DOCUMENT = document(os.environ.get("APP_VERSION", "unknown"))
    return Response(200, _DOCUMENT)
