"""Every fidelity patch of moto (targets.py says why they exist and what they share), applied
by the endpoint's server after its speed patches."""

from . import events_lambda, s3_lambda, sns_lambda, stream_wait, targets


def apply() -> None:
    for module in (sns_lambda, s3_lambda, events_lambda, stream_wait):
        module.apply(targets.patch)
