"""External configuration: change a parameter in SSM while the stack runs and watch the
functions pick it up within the configuration TTL, with no restart."""

import sys
import time

import boto3

from common import Demo

PARAMETER = "/recipes/local/cache/ttl-seconds"
CONFIG_TTL_S = 5  # CONFIG_TTL_SECONDS in template.yaml


def main() -> int:
    demo = Demo("external configuration store (SSM Parameter Store)")
    ssm = boto3.client("ssm", endpoint_url=demo.services["aws_endpoint_url"], region_name=demo.services["region"],
                       aws_access_key_id="test", aws_secret_access_key="test")
    original = ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    demo.say(f"{PARAMETER} is {original} s: cached reads live that long.")
    try:
        ssm.put_parameter(Name=PARAMETER, Value="1", Type="String", Overwrite=True)
        demo.say(f"Set it to 1 s with put-parameter; waiting {CONFIG_TTL_S + 1} s for the functions' "
                 "configuration cache to refresh...")
        time.sleep(CONFIG_TTL_S + 1)
        product = demo.new_product()
        url = f"/products/{product['id']}"
        _, first, _, _ = demo.call("GET", url)
        _, second, _, _ = demo.call("GET", url)
        time.sleep(1.5)
        _, third, _, _ = demo.call("GET", url)
        demo.say(f"Reads: {first.get('x-cache')}, then {second.get('x-cache')}, then after 1.5 s "
                 f"{third.get('x-cache')}.")
        demo.check(second.get("x-cache") == "HIT", "the entry was cached")
        demo.check(third.get("x-cache") == "MISS", "it expired after the new 1 s TTL: the change took effect live")
    finally:
        ssm.put_parameter(Name=PARAMETER, Value=original, Type="String", Overwrite=True)
        demo.say(f"Put {PARAMETER} back to {original} s.")
    return demo.finish()


if __name__ == "__main__":
    sys.exit(main())
