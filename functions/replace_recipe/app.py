"""PUT /recipes/{id}: replace a recipe and its items."""

from recipebook import recipes
from recipebook.access import endpoint

handler = endpoint("replaceRecipe")(recipes.replace)
