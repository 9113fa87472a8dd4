"""What every demo shares: find the running stack, call it, say what happened, and exit
non-zero when something that should have happened did not."""

import contextlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from infra.aws import emulator_client

ROOT = Path(__file__).resolve().parent.parent


class Demo:
    def __init__(self, title: str):
        self.title = title
        self.failures: list[str] = []
        self.state = state = Path(os.environ.get("LOCAL_STATE_DIR") or ROOT / ".local")
        try:
            self.services = json.loads((state / "run" / "services.json").read_text())
        except FileNotFoundError:
            sys.exit(f"error: no running stack found in {state}; start it with `make up`")
        self.gateway = self.services["gateway_url"]
        key_file = state / "admin-api-key"
        self.api_key = key_file.read_text().strip() if key_file.exists() else None
        print(f"== {title}")

    def say(self, text: str) -> None:
        print(f"   {text}")

    def check(self, condition: bool, claim: str) -> bool:
        print(f"   {'ok  ' if condition else 'FAIL'} {claim}")
        if not condition:
            self.failures.append(claim)
        return condition

    def call(self, method: str, path: str, body=None, headers: dict | None = None):
        """(status, headers, body, milliseconds) of one request to the gateway."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.gateway + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.api_key:
            request.add_header("x-api-key", self.api_key)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw, answer_headers = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, answer_headers = error.code, error.read(), dict(error.headers)
        elapsed = (time.perf_counter() - began) * 1000
        return status, {k.lower(): v for k, v in answer_headers.items()}, json.loads(raw) if raw else None, elapsed

    @contextlib.contextmanager
    def parameter_set_to(self, name: str, value: str):
        """Put an SSM parameter to `value` for the block, then back to what it was."""

        ssm = emulator_client("ssm", self.services["aws_endpoint_url"], self.services["region"])
        original = ssm.get_parameter(Name=name)["Parameter"]["Value"]
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        self.say(f"Set {name} from {original} to {value} with put-parameter.")
        try:
            yield original
        finally:
            ssm.put_parameter(Name=name, Value=original, Type="String", Overwrite=True)
            self.say(f"Put {name} back to {original}.")

    def new_product(self) -> dict:
        status, _, body, _ = self.call("POST", "/products", {"name": f"Demo {uuid.uuid4().hex[:8]}", "unit": "g"})
        if status != 201:
            sys.exit(f"error: could not create a product ({status}): {body}")
        return body

    def finish(self) -> int:
        if self.failures:
            print(f"   {self.title}: {len(self.failures)} claim(s) did not hold")
            return 1
        print(f"   {self.title}: everything shown held")
        return 0
