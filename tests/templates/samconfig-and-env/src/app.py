import os


def handler(event, context):
    body = f"{os.environ['GREETING']}, {os.environ['AUDIENCE']}{os.environ['PUNCTUATION']} " \
           f"[{os.environ['LEVEL']}] {os.environ.get('NOT_DECLARED', '-')}"
    return {"statusCode": 200, "body": body}
