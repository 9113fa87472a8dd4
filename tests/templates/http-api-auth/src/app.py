import json


def whoami(event, context):
    """Who the request's authorizer says is calling, and where the request came in."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or authorizer.get("claims") or {}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"sub": claims.get("sub"), "version": event.get("version", "1.0"),
                                "path": event.get("rawPath", event.get("path")),
                                "scopes": (authorizer.get("jwt") or {}).get("scopes"),
                                "token_use": claims.get("token_use")})}
