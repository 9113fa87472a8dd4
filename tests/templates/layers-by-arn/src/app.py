import json

import team_utils
import tiny_metrics


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"shout": team_utils.shout("report"),
                                                   "count": tiny_metrics.count("abc")})}
