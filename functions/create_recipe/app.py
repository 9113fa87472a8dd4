"""POST /recipes: create a recipe with its items, in one transaction."""

from cloudpatterns.http import api_handler
from recipebook import recipes


@api_handler
def handler(request, context):
    return recipes.create(request)
