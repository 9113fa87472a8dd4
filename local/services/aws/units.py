"""moto's state as units, and back: the BackendDict of a service, each of its backends, and
for the itemized services (pickling.ITEMIZED: SQS, S3, DynamoDB, Kinesis) each queue,
bucket, table or stream and each of its items, every unit with a fingerprint, so that only
what changed is written (state.py)."""

import hashlib
import importlib
import pickle
from collections import defaultdict

from .pickling import BACKEND_DICT_FIELDS, ITEMIZED, Pickler, load, locate


def units_of(service: str, backends, references: dict[int, tuple], items_only: bool = False):
    """(part, key, fingerprint, blob maker, class to make it from) for every unit of a
    service, in order: the BackendDict's own state, each backend, and for an itemized service
    each container followed by its items; only the items when `items_only`. An item is
    pickled only when its signature changed."""
    pickler = Pickler(references)

    def pickled(value, kind=None):
        blob = pickler.blob(value)
        return hashlib.blake2b(blob, digest_size=16).digest(), lambda: blob, kind

    def item_blob(value) -> bytes:
        try:  # a message or an object key needs none of the pickler's overrides: the C pickler is faster
            return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - then the pickler that knows moto's oddities
            return pickler.blob(value)

    itemized = ITEMIZED.get(service)
    if not items_only:
        module, name = locate(backends)
        extra = {field: value for field, value in vars(backends).items() if field not in BACKEND_DICT_FIELDS}
        yield "meta", ("registry", service), *pickled((module, name, extra))
    for account, regional in list(dict.items(backends)):
        for region, backend in list(dict.items(regional)):
            state = dict(vars(backend))
            containers = state.pop(itemized.containers, {}) if itemized else {}
            if not items_only:
                yield "meta", ("backend", service, account, region), *pickled(state, type(backend))
            for container_name, container in list(containers.items()):
                if not items_only:
                    yield ("meta", ("container", service, account, region, container_name),
                           *pickled(itemized.state(container), type(container)))
                for item_key, signature, value in itemized.items(container):
                    yield ("items", ("item", service, account, region, container_name, item_key), signature,
                           lambda value=value: item_blob(value), None)

def references_of(known: dict[str, object]) -> dict[int, tuple]:
    """Every container (queue, bucket, table, stream), by object id, under the key other units refer to it by."""
    references = {}
    for service, itemized in ITEMIZED.items():
        backends = known.get(service)
        if backends is None:
            continue
        for account, regional in list(dict.items(backends)):
            for region, backend in list(dict.items(regional)):
                for name, container in list(getattr(backend, itemized.containers, {}).items()):
                    references[id(container)] = ("container", service, account, region, name)
    return references


def install(units: dict[tuple, tuple]) -> None:
    """moto's BackendDicts filled from the units: the backends, then a shell for every
    container (references point at them), then their states and items."""
    shells = {key: kind.__new__(kind) for key, (_, kind) in units.items() if key[0] == "container"}
    registries = {}
    for key, (blob, _) in units.items():
        if key[0] == "registry":
            module, name, extra = load(blob, shells)
            backends = getattr(importlib.import_module(module), name)
            backends.__dict__.update(extra)
            registries[key[1]] = backends
    held: dict[tuple, list] = defaultdict(list)
    for key, (blob, kind) in units.items():
        if key[0] == "backend":
            _, service, account, region = key
            backend = kind.__new__(kind)
            backend.__dict__.update(load(blob, shells))
            itemized = ITEMIZED.get(service)
            if itemized:
                setattr(backend, itemized.containers, {})
            dict.__setitem__(registries[service][account], region, backend)
        elif key[0] == "item":
            held[("container", *key[1:5])].append(load(blob, shells))
    for key, (blob, _) in units.items():
        if key[0] == "container":
            _, service, account, region, name = key
            container = shells[key]
            container.__dict__.update(load(blob, shells))
            ITEMIZED[service].restore(container, held.get(key, []))
            backend = dict.__getitem__(registries[service][account], region)
            getattr(backend, ITEMIZED[service].containers)[name] = container


def apply(units: dict[tuple, tuple], record) -> None:
    if record[0] == "put":
        _, key, blob, kind = record
        units[key] = (blob, kind)
        return
    _, key = record
    units.pop(key, None)
    if key[0] == "container":  # its items go with it
        for other in [other for other in units if other[0] == "item" and other[1:5] == key[1:5]]:
            del units[other]
