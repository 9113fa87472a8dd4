"""DELETE /recipes/{id}: delete a recipe and its items."""

from recipebook import recipes
from recipebook.access import endpoint

handler = endpoint("deleteRecipe")(recipes.delete)
