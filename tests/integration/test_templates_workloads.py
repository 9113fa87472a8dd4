"""`local up` on templates of queue workers, schedules, fan-out and parallel load
(tests/templates/, its README says where each comes from): each starts, and what it does
happens as on AWS."""

import json
import threading

from support import eventually
from test_templates import call, client, up


def test_a_queue_worker_writes_each_job_it_is_given(local_env, start_local_up):
    run = up(local_env, start_local_up, "queue-worker")
    status, _, body = call(run, "/jobs", method="POST", body=json.dumps({"text": "hello queue"}).encode())
    assert status == 202, body
    key = f"results/{json.loads(body)['id']}.json"
    s3 = client(run, "s3")

    def result():
        listed = s3.list_objects_v2(Bucket="local-results", Prefix=key).get("Contents", [])
        return listed and json.loads(s3.get_object(Bucket="local-results", Key=key)["Body"].read())

    assert eventually(result, within=20) == {"text": "HELLO QUEUE", "source": "aws:sqs"}


def test_a_schedule_fires_with_its_input(local_env, start_local_up):
    run = up({**local_env, "LOCAL_SCHEDULE_SECONDS": "1"}, start_local_up, "scheduled-task")
    ssm = client(run, "ssm")
    value = eventually(lambda: (v := ssm.get_parameter(Name="/scheduled-task/last-run")["Parameter"]["Value"])
                       != "never" and v, within=20)
    assert json.loads(value) == {"job": "nightly-report", "function": "TickFunction"}


def test_a_topic_fans_out_to_the_queue_its_filter_policy_admits(local_env, start_local_up):
    run = up(local_env, start_local_up, "topic-fanout")
    for kind, event_id in (("order", "o-1"), ("refund", "r-1"), ("order", "o-2")):
        status, _, body = call(run, "/events", method="POST", body=json.dumps({"kind": kind, "id": event_id}).encode())
        assert status == 202, body
    ssm = client(run, "ssm")
    orders = eventually(lambda: (v := json.loads(ssm.get_parameter(Name="/topic-fanout/orders")["Parameter"]["Value"]))
                        == ["o-1", "o-2"] and v, within=20)
    assert orders == ["o-1", "o-2"]  # the refund never reached the queue


def parallel_calls(run, path: str, count: int) -> list:
    results = [None] * count

    def one(index):
        status, _, body = call(run, path)
        results[index] = (status, json.loads(body))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_instances_start_on_demand_and_waiting_for_one_is_not_a_timeout(local_env, start_local_up):
    run = up({**local_env, "LOCAL_MAX_INSTANCES": "3"}, start_local_up, "concurrency-limits")
    # Nine 1 s calls, three instances at most: the last three wait about 2 s for an instance,
    # then run 1 s, well past the route's 2.5 s integration timeout counted from arrival.
    results = parallel_calls(run, "/slow", 9)
    assert [status for status, _ in results] == [200] * 9, results
    answers = [answer for _, answer in results]
    assert len({answer["pid"] for answer in answers}) == 3
    first_wave = sorted(answers, key=lambda a: a["began"])[:3]
    assert max(a["began"] for a in first_wave) < min(a["ended"] for a in first_wave)  # three ran at once

    reserved = parallel_calls(run, "/reserved", 3)
    assert sorted(status for status, _ in reserved) == [200, 500, 500]  # throttled past ReservedConcurrentExecutions
    assert [answer for status, answer in reserved if status == 500] == [{"message": "Internal server error"}] * 2
