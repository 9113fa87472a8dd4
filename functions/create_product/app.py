"""POST /products: create a product (Idempotency-Key honoured)."""

from recipebook import products
from recipebook.access import endpoint

handler = endpoint("createProduct")(products.create)
