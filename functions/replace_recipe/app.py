"""PUT /recipes/{id}: replace a recipe and its items."""

from cloudpatterns.http import api_handler
from recipebook import recipes


@api_handler
def handler(request, context):
    return recipes.replace(request)
