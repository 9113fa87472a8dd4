import os


def handler(event, context):
    return {"statusCode": 200, "body": f"{os.environ['PREFIX']}, {event['pathParameters']['name']} "
                                       f"(from {context.function_name})"}
