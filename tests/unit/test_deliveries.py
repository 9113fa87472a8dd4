"""The event runner's delivery log and its sources' state (local/events/deliveries.py), and
`events tail` reading them (local/events/log.py): no Redis needed, nothing waited for."""

import json
import threading

from local.app.event_states import read_states
from local.events.deliveries import FAILED, OK, Deliveries, Delivery
from local.events.log import log_batch, record_detail, tail


def test_what_is_pending_is_written_when_closed_and_tail_shows_it(tmp_path):
    deliveries = Deliveries(tmp_path / "events", flush_every_s=60)  # only close() writes here
    deliveries.register("sqs:audit", "Audit", "sqs")
    records = [{"messageId": f"m{n}", "body": json.dumps({"id": f"e{n}", "type": "recipe.created"})} for n in range(3)]
    deliveries.start()
    log_batch(deliveries, "sqs:audit", "Audit", records, {"m1"}, "sqs", 4.2)
    deliveries.close()
    shown = []
    tail(tmp_path, shown.append, count=3, from_start=True)
    assert [line.split()[1:6] for line in shown] == [
        ["Audit", "sqs:audit", "via", "sqs", OK], ["Audit", "sqs:audit", "via", "sqs", FAILED],
        ["Audit", "sqs:audit", "via", "sqs", OK]]
    assert shown[0].endswith("recipe.created e0")
    state, = read_states(tmp_path)["sources"]
    assert (state["source"], state["delivered"], state["failed"], len(state["last"])) == ("sqs:audit", 2, 1, 3)


def test_tail_follows_new_lines_only_unless_asked_for_the_start(tmp_path):
    deliveries = Deliveries(tmp_path / "events", flush_every_s=0.01)
    deliveries.start()
    deliveries.record(Delivery("async", "Fn", OK, detail="before"))
    deliveries.close()
    shown = []
    follower = threading.Thread(target=tail, args=(tmp_path, shown.append, 1), kwargs={"poll_s": 0.01})
    follower.start()
    later = Deliveries(tmp_path / "events", flush_every_s=0.01)
    later.start()
    while follower.is_alive():
        later.record(Delivery("async", "Fn", OK, detail="after"))
        follower.join(0.05)
    later.close()
    assert shown[0].endswith("after")


def test_a_log_that_cannot_be_written_never_stops_a_delivery(tmp_path):
    (tmp_path / "events").write_text("a file where the folder should be")
    deliveries = Deliveries(tmp_path / "events" / "inner", flush_every_s=60)
    deliveries.start()  # the folder cannot be made: said once, and the deliveries go on
    for n in range(20_000):
        deliveries.record(Delivery("async", "Fn", OK, detail=str(n)))  # bounded: the oldest are dropped
    deliveries.close()


def test_record_detail_names_an_event_by_its_type_and_id_else_the_message():
    wrapped = {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": json.dumps({"type": "order.paid", "id": "o-1"})}
    assert record_detail({"messageId": "m", "body": json.dumps(wrapped)}) == "order.paid o-1"
    assert record_detail({"messageId": "m", "body": "plain text"}) == "m"


def test_tail_goes_on_after_the_last_line_shown_when_the_log_is_cut(tmp_path, monkeypatch):
    from local.events import deliveries as module

    monkeypatch.setattr(module, "MAX_LOG_BYTES", 2_000)  # cut the log often
    log = Deliveries(tmp_path / "events", flush_every_s=0.01)
    log.start()
    shown: list[str] = []
    follower = threading.Thread(target=tail, args=(tmp_path, shown.append, 60), kwargs={"poll_s": 0.005},
                                daemon=True)
    follower.start()
    for n in range(60):
        log.record(Delivery("async", "Fn", OK, detail=f"n{n:02d}"))
        follower.join(0.02)
    follower.join(10)
    log.close()
    numbers = [int(line.rsplit("n", 1)[-1]) for line in shown]
    assert numbers == sorted(set(numbers))  # never a line twice, always in order
    assert numbers[-1] == 59
