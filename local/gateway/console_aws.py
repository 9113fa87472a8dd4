"""What the console reads from the AWS endpoint: every queue's depth (and where its dead
letters go) and the configuration parameters, a SecureString's value never fetched. Each
call blocks: the console makes them off the event loop."""

import functools

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.aws import emulator_client
from local.app.model import AppModel


class ConsoleAws:
    def __init__(self, aws_endpoint_url: str | None, region: str):
        self.aws_endpoint_url, self.region = aws_endpoint_url, region

    # Made when the page first asks: a boto3 client costs tens of milliseconds, and a console
    # is made again at every template reload (local/reload/), mostly with no page open.
    @functools.cached_property
    def sqs(self):
        return self._client("sqs")

    @functools.cached_property
    def ssm(self):
        return self._client("ssm")

    def _client(self, service: str):
        if not self.aws_endpoint_url:
            return None
        config = Config(connect_timeout=0.5, read_timeout=1, retries={"max_attempts": 1})
        return emulator_client(service, self.aws_endpoint_url, self.region, config)

    def queues(self, model: AppModel) -> list[dict]:
        if self.sqs is None:
            return []
        rows = []
        for queue in model.queues.values():
            try:
                attributes = self.sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=[
                    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                rows.append({"name": queue.name, "waiting": int(attributes["ApproximateNumberOfMessages"]),
                             "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
                             "dead_letters_to": next((q.name for q in model.queues.values()
                                                      if q.arn == queue.dead_letter_arn), None)})
            except (BotoCoreError, ClientError) as error:
                rows.append({"name": queue.name, "error": type(error).__name__})
        return rows

    def configuration(self) -> dict:
        """Every parameter on the endpoint, by full name."""
        if self.ssm is None:
            return {}
        try:
            described = [parameter for page in self.ssm.get_paginator("describe_parameters").paginate()
                         for parameter in page["Parameters"]]
            values = {p["Name"]: "****" for p in described if p["Type"] == "SecureString"}
            plain = [p["Name"] for p in described if p["Type"] != "SecureString"]
            for start in range(0, len(plain), 10):  # GetParameters takes ten names at most
                for parameter in self.ssm.get_parameters(Names=plain[start:start + 10])["Parameters"]:
                    values[parameter["Name"]] = parameter["Value"]
            return dict(sorted(values.items()))
        except (BotoCoreError, ClientError) as error:
            return {"(unavailable)": type(error).__name__}
