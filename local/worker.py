"""One function instance: runs in its own process, started by local.runtime.

Run as a script (`python -I worker.py CONFIG_JSON`), not as part of the `local` package, so
the function sees only its code folder, its layers and the installed libraries, as on Lambda.
Invocations arrive on stdin and results leave on a private copy of stdout, one JSON line
each; the function's own prints and logs go to stderr, like Lambda's log stream.
"""

import importlib
import json
import os
import sys
import time
import traceback


class LambdaContext:
    def __init__(self, config: dict, request_id: str, deadline_ms: int):
        self.function_name = config["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = config["function_arn"]
        self.memory_limit_in_mb = str(config["memory_mb"])
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = config["log_stream"]
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_payload(error: BaseException) -> dict:
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def main() -> None:
    config = json.loads(sys.argv[1])
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything the function prints goes to the log, not into the protocol
    sys.stdout = sys.stderr
    sys.path[:0] = [config["code_dir"], *config["layer_dirs"]]
    os.chdir(config["code_dir"])

    module_name, _, function_name = config["handler"].rpartition(".")
    handler = init_error = None
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # reported on each invocation, as Lambda reports an init error
        init_error = error

    for line in sys.stdin:
        request = json.loads(line)
        if init_error is not None:
            reply = {"error": error_payload(init_error)}
        else:
            context = LambdaContext(config, request["request_id"], request["deadline_ms"])
            try:
                reply = {"result": handler(request["event"], context)}
            except Exception as error:
                reply = {"error": error_payload(error)}
        try:
            text = json.dumps(reply)
        except (TypeError, ValueError) as error:
            text = json.dumps({"error": {"errorMessage": f"Unable to marshal response: {error}",
                                         "errorType": "Runtime.MarshalError", "stackTrace": []}})
        channel.write(text + "\n")
        channel.flush()


if __name__ == "__main__":
    main()
