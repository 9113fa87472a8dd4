"""What a token minted for one of a template's authorizers must carry for that authorizer to
accept it (`local tokens mint`): its issuer, an audience it lists, and for a Cognito user pool
the token_use API Gateway asks for (an ID token, or an access token where routes need scopes)."""

from local.app.model import AppModel, AuthorizerSpec
from local.errors import LocalError

LOCAL_CLIENT_ID = "local-client"  # the app client a Cognito token names, when none is given


def token_authorizers(model: AppModel) -> dict[str, AuthorizerSpec]:
    """Every JWT and Cognito authorizer, by `Api/Name` (and by Name where only one API has it)."""
    found: dict[str, AuthorizerSpec] = {}
    by_name: dict[str, list[AuthorizerSpec]] = {}
    for api in model.apis.values():
        for name, spec in api.authorizers.items():
            if spec.payload_type in ("JWT", "COGNITO"):
                found[f"{api.logical_id}/{name}"] = spec
                by_name.setdefault(name, []).append(spec)
    found.update({name: specs[0] for name, specs in by_name.items() if len(specs) == 1})
    return found


def mint_options(model: AppModel, name: str | None, scopes: list[str], audience: str | None) -> dict:
    """The keyword arguments of DevIssuer.mint, but subject and the caller's own claims."""
    choices = token_authorizers(model)
    if name is None:
        distinct = {id(spec): key for key, spec in choices.items() if "/" in key}
        if len(distinct) != 1:
            raise LocalError("name the authorizer with --authorizer: the template has "
                             f"{len(distinct) or 'no'} JWT or Cognito authorizers"
                             + (f" ({', '.join(sorted(distinct.values()))})" if distinct else ""))
        name = next(iter(distinct.values()))
    spec = choices.get(name)
    if spec is None:
        raise LocalError(f"no JWT or Cognito authorizer {name!r} in the template; there are: "
                         f"{', '.join(sorted(choices)) or 'none'}")
    if spec.payload_type == "JWT":
        return {"issuer": spec.issuer, "audience": audience or (spec.audiences[0] if spec.audiences else None)}
    if scopes:  # a Cognito access token carries client_id, not aud
        return {"issuer": spec.issuer, "token_use": "access", "client_id": audience or LOCAL_CLIENT_ID}
    return {"issuer": spec.issuer, "token_use": "id", "audience": audience or LOCAL_CLIENT_ID}
