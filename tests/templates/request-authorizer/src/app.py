import json
import logging

print("loading the reports module")  # module-level output belongs to the init phase
logging.getLogger().warning("configured at import")

KEYS = {"acme": "k-acme", "globex": "k-globex"}


def reports(event, context):
    context_fields = event["requestContext"].get("authorizer") or {}
    return {"statusCode": 200, "body": json.dumps({"tenant": context_fields.get("tenant"),
                                                   "principal": context_fields.get("principalId")})}


def authorize(event, context):
    tenant = event["queryStringParameters"]["tenant"]
    allowed = KEYS.get(tenant) == event["headers"].get("X-Tenant-Key")
    return {"principalId": f"tenant-{tenant}", "context": {"tenant": tenant},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow" if allowed else "Deny", "Action": "execute-api:Invoke",
                 "Resource": event["methodArn"]}]}}
