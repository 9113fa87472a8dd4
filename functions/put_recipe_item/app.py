"""PUT /recipes/{id}/items/{product_id}: add or change an item."""

from recipebook import recipes
from recipebook.access import endpoint

handler = endpoint("putRecipeItem")(recipes.put_item)
