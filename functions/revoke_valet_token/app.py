"""DELETE /valet/tokens/{token_id}: revoke a valet token at once."""

from recipebook import valet
from recipebook.access import endpoint

handler = endpoint("revokeValetToken")(valet.revoke_token)
