"""PUT /recipes/{id}/items/{product_id}: add or change an item."""

from cloudpatterns.http import api_handler
from recipebook import recipes


@api_handler
def handler(request, context):
    return recipes.put_item(request)
