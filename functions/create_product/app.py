"""POST /products: create a product (Idempotency-Key honoured)."""

from cloudpatterns.http import api_handler
from recipebook import products


@api_handler
def handler(request, context):
    return products.create(request)
