"""POST /recipes/{id}/image-upload: a presigned S3 PUT for the recipe's image."""

from recipebook import valet
from recipebook.access import endpoint

handler = endpoint("recipeImageUpload")(valet.image_upload)
