"""External configuration: change a parameter in SSM while the stack runs and watch the
functions pick it up within the configuration TTL, with no restart."""

import sys
import time

from common import Demo

PARAMETER = "/recipes/local/cache/ttl-seconds"
CONFIG_TTL_S = 5  # CONFIG_TTL_SECONDS in template.yaml


def main() -> int:
    demo = Demo("external configuration store (SSM Parameter Store)")
    with demo.parameter_set_to(PARAMETER, "1") as original:
        demo.say(f"Cached reads lived {original} s; now 1 s. Waiting {CONFIG_TTL_S + 1} s for the functions' "
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
    return demo.finish()


if __name__ == "__main__":
    sys.exit(main())
