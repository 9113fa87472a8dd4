"""Run as a program in a fresh interpreter by tests/unit/test_moto_server.py: record what moto's
patched functions answer as moto ships them, apply local/services/aws/speedups.py's patches,
and compare. In the test process another test module may have applied the patches already,
and "originals" recorded there would be the patches themselves: a comparison that could
not fail. Prints one JSON object: the patches applied and skipped, and every mismatch.

--break-receipt-handles applies a deliberately wrong patch first, so the test can see the
comparison catch one."""

import importlib
import json
import string
import sys

NAMES = ("ReceiveMessage", "MessageRetentionPeriod", "ApproximateNumberOfMessagesNotVisible", "QueueArn",
         "DeleteMessageBatch", "SNSPublish", "x")


def _pristine() -> dict:
    from moto import backends
    from moto.core import responses as core_responses
    from moto.core import utils as core_utils
    from moto.sqs import models as sqs_models

    functions = {"modules": backends.list_of_moto_modules, "camel": core_utils.camelcase_to_underscores,
                 "camel_in_responses": core_responses.camelcase_to_underscores, "unix_time": sqs_models.unix_time,
                 "unix_time_millis": sqs_models.unix_time_millis, "receipt_handle": sqs_models.generate_receipt_handle}
    # Each is moto's own function, from moto's own package: nothing has replaced it yet.
    foreign = [name for name, function in functions.items() if not function.__module__.startswith("moto.")]
    return {"functions": functions, "foreign": foreign, "modules": list(backends.list_of_moto_modules()),
            "camel": {name: core_utils.camelcase_to_underscores(name) for name in NAMES},
            "receipt_handle": sqs_models.generate_receipt_handle()}


def main() -> int:
    before = _pristine()
    launcher = importlib.import_module("local.services.aws.speedups")
    if "--break-receipt-handles" in sys.argv:
        launcher._fast_receipt_handle = lambda original: (lambda: "x" * 10)
    launcher.apply()

    from moto import backends
    from moto.core import responses as core_responses
    from moto.core import utils as core_utils
    from moto.sqs import models as sqs_models

    mismatches = [f"{name} was already replaced before the patches ran" for name in before["foreign"]]
    if list(backends.list_of_moto_modules()) != before["modules"]:
        mismatches.append("list_of_moto_modules")
    for module in (core_utils, core_responses):
        for name, expected in before["camel"].items():
            if module.camelcase_to_underscores(name) != expected:
                mismatches.append(f"{module.__name__}.camelcase_to_underscores({name!r})")
    if abs(sqs_models.unix_time() - before["functions"]["unix_time"]()) > 0.05:
        mismatches.append("unix_time")
    if abs(sqs_models.unix_time_millis() - before["functions"]["unix_time_millis"]()) > 50:
        mismatches.append("unix_time_millis")
    handles = {sqs_models.generate_receipt_handle() for _ in range(1000)}
    original = before["receipt_handle"]
    if len(handles) != 1000 or {len(handle) for handle in handles} != {len(original)} \
            or not set("".join(handles)) == set(string.ascii_lowercase) >= set(original):
        mismatches.append("generate_receipt_handle")
    print(json.dumps({"patched": launcher.PATCHED, "skipped": launcher.SKIPPED, "mismatches": mismatches}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
