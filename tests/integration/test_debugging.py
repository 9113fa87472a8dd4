"""Step-through debugging (docs/DEBUGGING.md): a debugger attaches to the function `local up
--debug-port` or `local invoke --debug-port` runs under debugpy, speaking DAP as VS Code does
(tests/support/dap.py), stops a request at breakpoints in the project's own files (the
handler's and its layer's), reads a local variable, continues, and the answer comes back,
even after a pause longer than the function's Timeout and the route's integration timeout.
The event runner's deliveries stop at the same breakpoints (they go to `up`'s instance)."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import boto3
import pytest
from support import PROJECT_ROOT, eventually
from support.dap import DapClient
from support.ports import free_port

FOLDER = PROJECT_ROOT / "tests" / "templates" / "debugging"
HANDLER = FOLDER / "src" / "app.py"
LAYER = FOLDER / "layer" / "python" / "greeting.py"


def stop_line(path, mark: str) -> int:
    """The line the template's code marks `# stop: <mark>` (where a breakpoint goes)."""
    return next(number for number, text in enumerate(path.read_text().splitlines(), 1)
                if text.rstrip().endswith(f"# stop: {mark}"))


def waiting_lines(run) -> int:
    """How many times the function's instance said it waits for a debugger (once per instance)."""
    return sum("for a debugger to attach" in line for line in run.lines)


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def debugged_up(local_env, start_local_up):
    """`local up --debug-port P --debug-function GreetFunction` on the debugging template, and
    a debugger client connected to P."""
    port = free_port()
    env = {**local_env, "LOCAL_TEMPLATE": str(FOLDER / "template.yaml")}
    run = start_local_up(env, "--debug-port", str(port), "--debug-function", "GreetFunction").wait_ready()
    run.gateway = next(line.split()[2] for line in run.lines if line.strip().startswith("API gateway"))
    run.aws = next(line.split()[2] for line in run.lines if line.strip().startswith("AWS endpoint"))
    run.debug_port = port
    client = DapClient("127.0.0.1", port)
    yield run, client
    client.close()


def test_a_request_stops_in_the_handler_and_its_layer_and_answers_after_a_long_pause(debugged_up):
    run, debugger = debugged_up
    attach_line = next(line for line in run.lines if line.strip().startswith("debugger"))
    assert f"127.0.0.1:{run.debug_port}" in attach_line and "GreetFunction" in attach_line
    assert "Timeout" in attach_line and "29 s" in attach_line

    handler_line, layer_line = stop_line(HANDLER, "handler"), stop_line(LAYER, "layer")
    bound = debugger.attach({str(HANDLER): [handler_line], str(LAYER): [layer_line]})
    # Bound to the project's own files: the worker imports them in place, no copy anywhere.
    assert [(b["verified"], b["line"]) for b in bound[str(HANDLER)]] == [(True, handler_line)]
    assert [(b["verified"], b["line"]) for b in bound[str(LAYER)]] == [(True, layer_line)]

    answers = []
    request = threading.Thread(target=lambda: answers.append(get(f"{run.gateway}/greet/ada")))
    request.start()
    try:
        stopped = debugger.stopped()
        frame = debugger.top_frame(stopped["threadId"])
        assert (frame["source"]["path"], frame["line"]) == (str(HANDLER), handler_line)
        assert debugger.locals_of(frame["id"])["name"] == "'ada'"
        # Paused past the function's Timeout (1 s) and the route's TimeoutInMillis (500):
        # neither may end the call while a debugger holds it.
        time.sleep(2)
        seen = len(debugger.events)
        debugger.resume(stopped["threadId"])

        stopped = debugger.stopped(after=seen)
        frame = debugger.top_frame(stopped["threadId"])
        assert (frame["source"]["path"], frame["line"]) == (str(LAYER), layer_line)
        assert debugger.locals_of(frame["id"])["name"] == "'ada'"
        debugger.resume(stopped["threadId"])
    finally:
        request.join(60)
    status, body = answers[0]
    assert status == 200, body
    answer = json.loads(body)
    assert answer["message"] == "hello, ada"
    # The context counts down from the lifted timeout (ten hours, as SAM CLI gives), not from 1 s.
    assert answer["remaining_ms"] > 3_600_000


def test_an_event_source_delivery_stops_at_the_breakpoint_in_the_instance_of_up(debugged_up):
    run, debugger = debugged_up
    queue_line = stop_line(HANDLER, "queue")
    debugger.attach({str(HANDLER): [queue_line]})
    sqs = boto3.client("sqs", endpoint_url=run.aws, region_name="us-east-1", aws_access_key_id="test",
                       aws_secret_access_key="test")
    queue_url = sqs.get_queue_url(QueueName="debugging-greetings")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="grace")

    # The event runner, a process of its own, sends the delivery to `up`'s Invoke API: it runs
    # in the debugged instance and stops where the debugger says, instead of running unseen.
    stopped = debugger.stopped(timeout=60)
    frame = debugger.top_frame(stopped["threadId"])
    assert (frame["source"]["path"], frame["line"]) == (str(HANDLER), queue_line)
    assert debugger.locals_of(frame["id"])["bodies"] == "['grace']"
    debugger.resume(stopped["threadId"])


def test_after_a_code_edit_the_new_instance_waits_for_the_debugger_to_attach_again(
        local_env, start_local_up, tmp_path):
    folder = tmp_path / "debugging"
    shutil.copytree(FOLDER, folder)
    port = free_port()
    run = start_local_up({**local_env, "LOCAL_TEMPLATE": str(folder / "template.yaml")},
                         "-d", str(port), "--debug-function", "GreetFunction").wait_ready()
    gateway = next(line.split()[2] for line in run.lines if line.strip().startswith("API gateway"))
    first = DapClient("127.0.0.1", port)
    first.attach({})
    assert json.loads(get(f"{gateway}/greet/ada")[1])["message"] == "hello, ada"

    greeting = folder / "layer" / "python" / "greeting.py"
    greeting.write_text(greeting.read_text().replace('f"hello, {name}"', 'f"hi, {name}"'))
    answers = []
    request = threading.Thread(target=lambda: answers.append(get(f"{gateway}/greet/ada")))
    request.start()
    try:
        # The edited code runs in a new instance: the old one, and the debugger's session with
        # it, end; the request waits until a debugger attaches to the new one, on the same port.
        first.wait_closed(timeout=60)
        assert eventually(lambda: waiting_lines(run) == 2, within=60), run.lines[-5:]
        second = DapClient("127.0.0.1", port)
        second.attach({})
    finally:
        request.join(60)
    assert answers and answers[0][0] == 200, answers
    assert json.loads(answers[0][1])["message"] == "hi, ada"
    second.close()
    first.close()
    assert waiting_lines(run) == 2


def test_local_invoke_waits_for_a_debugger_and_prints_the_answer(tmp_path):
    port = free_port()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pathParameters": {"name": "lin"}}))
    env = {**os.environ, "LOCAL_TEMPLATE": str(FOLDER / "template.yaml"), "LOCAL_STATE_DIR": str(tmp_path / "state")}
    invoke = subprocess.Popen([sys.executable, "-m", "local", "invoke", "GreetFunction", "-d", str(port),
                               "-e", str(event)], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        debugger = DapClient("127.0.0.1", port)
        handler_line = stop_line(HANDLER, "handler")
        debugger.attach({str(HANDLER): [handler_line]})
        stopped = debugger.stopped()
        frame = debugger.top_frame(stopped["threadId"])
        assert frame["line"] == handler_line
        assert debugger.locals_of(frame["id"])["name"] == "'lin'"
        debugger.resume(stopped["threadId"], wait=False)  # `invoke` ends, and its instance with it
        out, err = invoke.communicate(timeout=60)
        debugger.close()
    finally:
        if invoke.poll() is None:
            invoke.kill()
            invoke.wait()
    assert invoke.returncode == 0, err
    assert json.loads(json.loads(out)["body"])["message"] == "hello, lin"
    assert f"waiting on 127.0.0.1:{port} for a debugger" in err
