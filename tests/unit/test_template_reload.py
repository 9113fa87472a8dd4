"""The parts of a template reload that need no running stack: the runtime's model swapped
with warm instances kept for unchanged functions, the files watched, an event source's
counts kept across a reload and forgotten with its function."""

import asyncio
import os

from local.events.deliveries import OK, Deliveries, Delivery
from local.app.model import AppModel
from local.reload.prepare import watched_files

PID = """
import os
def handler(event, context):
    return {"pid": os.getpid(), "env": os.environ.get("X")}
"""


def test_a_function_whose_configuration_is_unchanged_keeps_its_warm_instance(make_function, runtime_of):
    kept = make_function("Kept", PID, routes=[("/a", "GET")])
    changed = make_function("Changed", PID, env={"X": "1"})
    gone = make_function("Gone", PID)
    runtime = runtime_of(kept, changed, gone)
    before = {name: runtime.invoke(name, {}).payload["pid"] for name in ("Kept", "Changed", "Gone")}

    new_routes = kept.model_copy(update={"api_events": []})  # events are no instance's business
    new_env = changed.model_copy(update={"environment": {"X": "2"}})
    runtime.update(model_of(new_routes, new_env))

    assert runtime.invoke("Kept", {}).payload["pid"] == before["Kept"]
    after = runtime.invoke("Changed", {}).payload
    assert after["env"] == "2" and after["pid"] != before["Changed"]
    try:
        runtime.invoke("Gone", {})
    except Exception as error:  # noqa: BLE001 - the type is the point
        assert type(error).__name__ == "UnknownFunction"
    else:
        raise AssertionError("a removed function still answers")
    assert not _alive(before["Gone"]) and not _alive(before["Changed"]), "retired instances are stopped"


def test_a_call_waiting_for_an_instance_of_a_retired_pool_runs_on_the_new_one(make_function, runtime_of):
    slow = make_function("Slow", "import time\ndef handler(e, c):\n    time.sleep(e['s'])\n    return e['s']",
                         concurrency=1)
    runtime = runtime_of(slow)

    async def scenario():
        busy = asyncio.ensure_future(runtime.invoke_async("Slow", {"s": 0.5}))
        await asyncio.sleep(0.2)
        waiting = asyncio.ensure_future(runtime.invoke_async("Slow", {"s": 0}))  # waits: one instance at most
        await asyncio.sleep(0.1)
        retired = runtime.swap_model(model_of(slow.model_copy(update={"timeout": 4})))
        await asyncio.gather(*(pool.stop() for pool in retired))
        return await busy, await waiting

    first, second = runtime.loop.run(scenario())
    assert first.payload == 0.5 and second.payload == 0 and second.error is None


def test_the_template_its_nested_templates_definitions_and_env_file_are_watched(tmp_path):
    (tmp_path / "child.yaml").write_text("Resources: {}")
    (tmp_path / "api.yaml").write_text("openapi: 3.0.1")
    env = tmp_path / "env.json"
    env.write_text("{}")
    template = {"Resources": {
        "Child": {"Type": "AWS::Serverless::Application", "Properties": {"Location": "child.yaml"}},
        "Api": {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionUri": "api.yaml"}},
        "Remote": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://x/y.yaml"}}}}
    files = watched_files(tmp_path / "template.yaml", template, env)
    assert sorted(files) == sorted((tmp_path / name).resolve()
                                   for name in ("template.yaml", "env.json", "api.yaml", "child.yaml"))


def test_a_source_registered_again_keeps_its_counts_and_one_not_registered_again_is_forgotten():
    deliveries = Deliveries(None)
    deliveries.register("sqs:a", "F", "sqs")
    deliveries.register("sqs:b", "F", "sqs")
    deliveries.record(_delivery("sqs:a"))
    epoch = deliveries.new_epoch()
    deliveries.register("sqs:a", "F", "sqs", "Disabled")  # the reloaded template keeps a, drops b
    deliveries.forget("F", epoch)
    states = {state["source"]: state for state in deliveries.states()}
    assert set(states) == {"sqs:a"} and states["sqs:a"]["delivered"] == 1 and states["sqs:a"]["state"] == "Disabled"


def _delivery(source: str) -> Delivery:
    return Delivery(source=source, function="F", outcome=OK, via="sqs")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def model_of(*specs) -> AppModel:
    return AppModel(functions={spec.logical_id: spec for spec in specs}, layers={}, apis={}, queues={},
                    topics={}, subscriptions={}, parameters={})
