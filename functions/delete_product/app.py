"""DELETE /products/{id}: delete a product no recipe uses."""

from cloudpatterns.http import api_handler
from recipebook import products


@api_handler
def handler(request, context):
    return products.delete(request)
