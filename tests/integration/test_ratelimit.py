"""Per-principal rate limits: headers, live limits, exactness across processes, Redis down."""

import logging
import os
import subprocess
import sys
import time
import uuid

import pytest
from cloudpatterns.ratelimit import RateLimiter
from support import PROJECT_ROOT
from support.api import new_key

LAYER = str(PROJECT_ROOT / "layers" / "shared")


def set_limit(api, kind: str, value: int) -> None:
    api.ssm.put_parameter(Name=f"/recipes/local/rate-limit/{kind}-per-minute", Value=str(value), Type="String",
                          Overwrite=True)
    time.sleep(0.3)  # the functions' configuration TTL is 0.2 s in tests


@pytest.fixture
def limits(api):
    yield lambda kind, value: set_limit(api, kind, value)
    for kind in ("reads", "writes"):
        set_limit(api, kind, 100000)


def test_every_response_carries_the_rate_limit_headers(api):
    response = api.get("/products")
    assert int(response.headers["ratelimit-limit"]) == 100000
    assert int(response.headers["ratelimit-remaining"]) < 100000
    assert 0 <= int(response.headers["ratelimit-reset"]) <= 60


def test_a_changed_limit_applies_without_restart_and_reads_and_writes_count_apart(api, limits):
    key = new_key(api, "products:read", "products:write")
    headers = {"x-api-key": key}
    limits("writes", 3)
    statuses = [api.post("/products", json_body={"name": f"Limited {uuid.uuid4().hex[:8]}", "unit": "g"},
                         headers=headers).status for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    throttled = api.post("/products", json_body={"name": "x", "unit": "g"}, headers=headers)
    assert throttled.json()["error"]["code"] == "throttled"
    assert 1 <= int(throttled.headers["retry-after"]) <= 60 and throttled.headers["ratelimit-remaining"] == "0"
    assert api.get("/products", headers=headers).status == 200  # reads have their own budget
    other = new_key(api, "products:write")  # and so does every other principal
    assert api.post("/products", json_body={"name": f"Other {uuid.uuid4().hex[:8]}", "unit": "g"},
                    headers={"x-api-key": other}).status == 201


HAMMER = """
import sys, threading
from cloudpatterns.ratelimit import RateLimiter
url, key, limit, threads, attempts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
limiter, admitted, lock = RateLimiter(url), [], threading.Lock()
def client():
    for _ in range(attempts):
        if limiter.hit(key, limit).allowed:
            with lock:
                admitted.append(1)
workers = [threading.Thread(target=client) for _ in range(threads)]
for worker in workers: worker.start()
for worker in workers: worker.join()
print(len(admitted))
"""


def test_exactly_the_limit_is_admitted_across_processes(redis_url):
    key, limit = f"exact:{uuid.uuid4()}", 50
    env = {**os.environ, "PYTHONPATH": LAYER}
    processes = [subprocess.Popen([sys.executable, "-c", HAMMER, redis_url, key, str(limit), "4", "30"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert all("unavailable" not in err for _, err in outputs), outputs  # Redis did the counting
    admitted = sum(int(out) for out, _ in outputs)
    assert admitted == limit  # 8 clients in 2 processes tried 240 times in all


def test_with_redis_down_an_in_instance_limiter_takes_over(caplog):
    limiter = RateLimiter("redis://127.0.0.1:1/0", timeout_s=0.05)
    with caplog.at_level(logging.WARNING):
        decisions = [limiter.hit("down", 3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert "counting in this instance" in caplog.text
