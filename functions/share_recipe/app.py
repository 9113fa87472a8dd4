"""POST /recipes/{id}/share: a presigned URL that reads this one recipe."""

from recipebook import valet
from recipebook.access import endpoint

handler = endpoint("shareRecipe")(valet.share)
