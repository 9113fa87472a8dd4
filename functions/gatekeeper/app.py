"""The gatekeeper: the API's REQUEST authorizer (see recipebook.gatekeeper)."""

from recipebook.gatekeeper import authorize


def handler(event, context):
    return authorize(event, context)
