"""PUT /products/{id}: replace a product (If-Match honoured)."""

from cloudpatterns.http import api_handler
from recipebook import products


@api_handler
def handler(request, context):
    return products.replace(request)
