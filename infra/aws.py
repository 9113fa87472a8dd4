"""boto3 clients for an AWS endpoint: the local emulator's, LocalStack's, or AWS itself."""

import functools

import boto3
from botocore.config import Config

# Local emulators accept any credentials; these keep a user's real ones away from them.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def emulator_client(service: str, endpoint_url: str, region: str, config: Config | None = None):
    """A client of the emulator at `endpoint_url`, with the emulator's credentials."""
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, config=config, **EMULATOR_CREDENTIALS)


class AwsClients:
    """boto3 clients for one endpoint, with short timeouts so a dead endpoint fails fast."""

    def __init__(self, endpoint_url: str | None, region: str, connect_timeout: float = 3, attempts: int = 2):
        config = Config(connect_timeout=connect_timeout, read_timeout=10,
                        retries={"max_attempts": attempts, "mode": "standard"})
        session = boto3.session.Session(region_name=region)
        if endpoint_url and session.get_credentials() is None:
            # Local emulators accept any credentials; real AWS gets the user's own.
            session = boto3.session.Session(region_name=region, **EMULATOR_CREDENTIALS)
        self.endpoint_url = endpoint_url
        self.region = region

        def client(name):
            return session.client(name, endpoint_url=endpoint_url, config=config)

        self.sts, self.sns, self.sqs, self.ssm, self.s3 = map(client, ("sts", "sns", "sqs", "ssm", "s3"))
        self._client = client

    # Made when first used: a boto3 client costs tens of milliseconds to make, and most
    # templates have no tables, streams or rules.
    @functools.cached_property
    def dynamodb(self):
        return self._client("dynamodb")

    @functools.cached_property
    def kinesis(self):
        return self._client("kinesis")

    @functools.cached_property
    def events(self):
        return self._client("events")

    def account_id(self) -> str:
        return self.sts.get_caller_identity()["Account"]
