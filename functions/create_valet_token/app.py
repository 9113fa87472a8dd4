"""POST /valet/tokens: issue a valet token narrower than its issuer's rights."""

from recipebook import valet
from recipebook.access import endpoint

handler = endpoint("createValetToken")(valet.create_token)
