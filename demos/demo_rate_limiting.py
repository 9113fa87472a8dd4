"""Rate limiting per principal: a key with a write budget of 5 a minute gets 429 with
Retry-After on the sixth write; its reads and other keys are untouched."""

import subprocess
import sys
import time
import uuid

from common import ROOT, Demo

PARAMETER = "/recipes/local/rate-limit/writes-per-minute"


def new_key(scopes: list[str]) -> str:
    result = subprocess.run([sys.executable, "-m", "ops", "keys", "create", "--scopes", *scopes, "--name", "demo"],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def main() -> int:
    demo = Demo("rate limiting (per principal, in Redis)")
    with demo.parameter_set_to(PARAMETER, "5"):
        demo.say("Waiting 6 s for the functions to see the new write limit...")
        time.sleep(6)
        key = new_key(["products:read", "products:write"])
        headers = {"x-api-key": key}
        statuses = []
        for _ in range(6):
            status, answer, _, _ = demo.call("POST", "/products", {"name": f"Limit {uuid.uuid4().hex[:8]}", "unit": "g"},
                                             headers=headers)
            statuses.append(status)
        demo.say(f"Six writes with a new key answered {statuses}; the last said Retry-After: "
                 f"{answer.get('retry-after')} s, RateLimit-Remaining: {answer.get('ratelimit-remaining')}.")
        demo.check(statuses == [201] * 5 + [429], "exactly five writes were admitted")
        demo.check(answer.get("retry-after") is not None, "the 429 says when to retry")
        status, _, _, _ = demo.call("GET", "/products", headers=headers)
        demo.check(status == 200, "reads have their own budget")
        other = {"x-api-key": new_key(["products:write"])}
        status, _, _, _ = demo.call("POST", "/products", {"name": f"Other {uuid.uuid4().hex[:8]}", "unit": "g"},
                                    headers=other)
        demo.check(status == 201, "another principal (a second new key) is not affected")
    return demo.finish()


if __name__ == "__main__":
    sys.exit(main())
