import base64


def flip(event, context):
    assert event["isBase64Encoded"], "a binary media type arrives base64-encoded"
    data = base64.b64decode(event["body"])
    return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
            "body": base64.b64encode(data[::-1]).decode()}
