"""The console at /_local/ through the gateway's test client (no socket, no browser): every route
of every API and function URL, the invocations of every process from the journal, one whole
invocation, replay and invoke with an edited event, and the refusals of its two actions."""

import io

import pytest

from local.app.model import HTTP, ApiEvent, ApiSpec, AppModel, FunctionUrlSpec
from local.gateway.client import GatewayClient
from local.runtime.journal import InvocationJournal
from local.runtime.logs import ConsoleLog
from local.runtime.pool import Invocation
from local.stack import serving

ECHO = """
import json

def handler(event, context):
    print("echoing", json.dumps(event.get("body") or event.get("edited")))
    return {"statusCode": 200, "body": json.dumps({"got": event.get("body") or event.get("edited")})}
"""
ACTION = {"Content-Type": "application/json", "X-Local-Console": "1"}


def model_with_apis(make_function) -> AppModel:
    echo = make_function("Echo", ECHO, layers=(), routes=[("/echo", "POST")])
    items = make_function("Items", ECHO, layers=())
    items.api_events = [ApiEvent(name="Get", path="/items/{id}", method="GET", api="HttpApi", api_type=HTTP,
                                 payload_version="2.0")]
    hook = make_function("Hook", ECHO, layers=())
    hook.url = FunctionUrlSpec(auth_type="AWS_IAM")
    return AppModel(functions={spec.logical_id: spec for spec in (echo, items, hook)}, layers={},
                    apis={"Api": ApiSpec(logical_id="Api", name="Api", stage="Prod"),
                          "HttpApi": ApiSpec(logical_id="HttpApi", name="HttpApi", stage="$default", kind=HTTP)},
                    queues={}, topics={}, subscriptions={}, parameters={})


@pytest.fixture
def console(make_function, tmp_path):
    """A gateway with its console, over a state folder of its own (so a journal), and its runtime."""
    def make(state_dir=tmp_path / "state", function_urls=None):
        runtime, gateway = serving(model_with_apis(make_function), "us-east-1", "123456789012", None,
                                   console_log=ConsoleLog(io.StringIO()), state_dir=state_dir,
                                   function_urls=function_urls)
        started.append(runtime)
        return GatewayClient(gateway)

    started = []
    yield make
    for runtime in started:
        runtime.stop()


def test_the_state_lists_every_route_of_every_api_and_function_url(console):
    urls = {}
    client = console(function_urls=urls)
    urls["Hook"] = "http://127.0.0.1:3100/"  # `up` fills the dict once the URL's server listens
    state = client.get("/_local/api/state").json()
    apis = {api["id"]: api for api in state["apis"]}
    assert apis["Api"]["type"] == "REST" and apis["Api"]["routes"] == [
        {"method": "POST", "path": "/echo", "function": "Echo", "authorizer": None}]
    assert apis["HttpApi"]["type"] == "HTTP" and apis["HttpApi"]["routes"][0]["path"] == "/items/{id}"
    assert state["function_urls"] == [{"function": "Hook", "url": "http://127.0.0.1:3100/", "auth_type": "AWS_IAM",
                                       "invoke_mode": "BUFFERED"}]


def test_invocations_of_every_process_are_listed_newest_first_and_shown_whole(console, tmp_path):
    client = console()
    assert client.post("/echo", body="first").status == 200
    # The event runner's invocation, written by that process to the same journal.
    InvocationJournal(tmp_path / "state" / "logs", "events").record(
        Invocation("from-runner", "Items", event={"Records": [1]}, payload={}, log=["START", "runner line"]))
    listed = client.get("/_local/api/state").json()["invocations"]
    assert [(call["function"], call["process"]) for call in listed] == [("Items", "events"), ("Echo", "up")]
    assert "event" not in listed[1] and listed[1]["event_kept"] is True  # the list leaves events out
    assert any(line.startswith("REPORT RequestId:") for line in listed[1]["log"])
    whole = client.get(f"/_local/api/invocation?function=Echo&request_id={listed[1]['request_id']}").json()
    assert whole["event"]["body"] == "first" and whole["payload"]["statusCode"] == 200
    assert client.get("/_local/api/invocation?function=Echo&request_id=nope").status == 404


def test_replay_sends_the_same_event_again_and_invoke_an_edited_one(console):
    client = console()
    client.post("/echo", body="original")
    first = client.get("/_local/api/state").json()["invocations"][0]
    replayed = client.post("/_local/api/replay", headers=ACTION,
                           json_body={"function": "Echo", "request_id": first["request_id"], "at": first["at"]})
    assert replayed.status == 200, replayed.body
    answer = replayed.json()
    assert answer["ok"] and answer["replay_of"] == first["request_id"] and answer["request_id"] != first["request_id"]
    again = client.get(f"/_local/api/invocation?function=Echo&request_id={answer['request_id']}").json()
    original = client.get(f"/_local/api/invocation?function=Echo&request_id={first['request_id']}").json()
    assert again["event"] == original["event"]

    edited = client.post("/_local/api/invoke", headers=ACTION, json_body={"function": "echo", "event": {"edited": 7}})
    assert edited.status == 404  # a logical id or a FunctionName, as Lambda takes them, case and all
    edited = client.post("/_local/api/invoke", headers=ACTION, json_body={"function": "Echo", "event": {"edited": 7}})
    assert edited.json()["payload"]["body"] == '{"got": 7}'
    assert client.get("/_local/api/state").json()["invocations"][0]["request_id"] == edited.json()["request_id"]


def test_without_a_state_folder_this_process_s_invocations_are_listed_and_replayed(console):
    client = console(state_dir=None)
    client.post("/echo", body="kept in memory")
    state = client.get("/_local/api/state").json()
    assert state["journal"] is False and len(state["invocations"]) == 1
    replayed = client.post("/_local/api/replay", headers=ACTION,
                           json_body={"function": "Echo", "request_id": state["invocations"][0]["request_id"]})
    assert replayed.status == 200 and replayed.json()["payload"]["body"] == '{"got": "kept in memory"}'


@pytest.mark.parametrize("headers", [
    {},  # a form's POST from another site
    {"Content-Type": "text/plain", "X-Local-Console": "1"},
    {"Content-Type": "application/json"},  # no header of the console's: a page elsewhere could not add one
    {**ACTION, "Origin": "http://evil.example"},
])
def test_actions_from_another_site_are_refused(console, headers):
    client = console()
    client.post("/echo", body="x")
    request_id = client.get("/_local/api/state").json()["invocations"][0]["request_id"]
    refused = client.post("/_local/api/replay", headers=headers, body=f'{{"function": "Echo", "request_id": "{request_id}"}}')
    assert refused.status == 403 and "so that no other site can run a function" in refused.json()["message"]
    assert len(client.get("/_local/api/state").json()["invocations"]) == 1  # nothing ran


def test_actions_answer_clear_errors(console, tmp_path):
    client = console()
    same_origin = {**ACTION, "Origin": "http://localhost"}  # the test client's Host
    assert client.post("/_local/api/invoke", headers=same_origin, body="{not json").json()["message"].startswith(
        "the body is not JSON")
    assert client.post("/_local/api/invoke", headers=ACTION, body='{"function": "Echo"}').status == 400
    missing = client.post("/_local/api/invoke", headers=ACTION, json_body={"function": "Nope", "event": {}})
    assert missing.status == 404 and "no function named 'Nope'" in missing.json()["message"]
    unknown = client.post("/_local/api/replay", headers=ACTION, json_body={"function": "Echo", "request_id": "r-0"})
    assert unknown.status == 404 and "no invocation r-0 of Echo" in unknown.json()["message"]
    InvocationJournal(tmp_path / "state" / "logs", "up", field_cap_bytes=10).record(
        Invocation("big", "Echo", event={"body": "x" * 100}, payload={}))
    too_big = client.post("/_local/api/replay", headers=ACTION, json_body={"function": "Echo", "request_id": "big"})
    assert too_big.status == 409 and "cannot be replayed" in too_big.json()["message"]
    assert client.get("/_local/api/replay").status == 405
    assert client.request("OPTIONS", "/_local/api/invoke", headers={"Origin": "http://evil.example"}).headers.get(
        "access-control-allow-origin") is None  # no preflight granted
