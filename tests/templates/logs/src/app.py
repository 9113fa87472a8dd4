import json


def hello(event, context):
    who = (event.get("queryStringParameters") or {}).get("who", "nobody")
    print(f"plain line for {who}")
    # The shape Powertools Logger writes (one JSON object a line), without the library.
    print(json.dumps({"level": "INFO", "location": "hello:9", "message": f"greeted {who}",
                      "timestamp": "2026-12-05 10:00:00,000+0000", "service": "logs-test", "who": who}))
    return {"statusCode": 200, "body": who}


def consume(event, context):
    for record in event["Records"]:
        print(f"consumed {record['body']}")
    return {}
