"""DELETE /products/{id}: delete a product no recipe uses."""

from recipebook import products
from recipebook.access import endpoint

handler = endpoint("deleteProduct")(products.delete)
