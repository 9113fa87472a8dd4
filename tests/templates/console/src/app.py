import json


def echo(event, context):
    """Answers with the request's body, so that a replayed or edited event shows in the answer."""
    print(f"echo got {event.get('body')}")
    return {"statusCode": 200, "body": json.dumps({"echo": event.get("body")})}


def item(event, context):
    return {"statusCode": 200, "body": json.dumps({"id": event["pathParameters"]["id"]})}


def hook(event, context):
    return {"statusCode": 200, "body": "hooked"}


def consume(event, context):
    for record in event["Records"]:
        print(f"consumed {record['body']}")
    return {}
