"""The handler tests/integration/test_debugging.py stops in: lines marked `# stop:` are where
its breakpoints go (the test finds them by their marks)."""

from greeting import greet


def handler(event, context):
    records = event.get("Records")
    if records:
        bodies = [record["body"] for record in records]
        return {"batchItemFailures": [], "bodies": bodies}  # stop: queue
    name = event["pathParameters"]["name"]
    message = greet(name)  # stop: handler
    remaining_ms = context.get_remaining_time_in_millis()
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": f'{{"message": "{message}", "remaining_ms": {remaining_ms}}}'}


def plain(event, context):
    return {"statusCode": 200, "body": "plain"}
