"""The large parts of moto's backends as units of their own (units.py), one per item, so that
a write costs the size of what it changed, not of the state: the shape every itemized
service follows, and DynamoDB's tables (each item; the stream's records) and Kinesis's
streams (the records of each shard). SQS and S3 are in pickling.py."""

from collections import OrderedDict, defaultdict

# Set on a DynamoDB item each time an update is about to change it in place (see track_updates).
REVISION = "_state_revision"


class Itemized:
    """A service whose containers (queues, buckets, tables, streams) are units, each of their
    items another. `items(container)` yields (key, signature, value) per item; a unit is written
    again when its signature changes. `state(container)` is what is written of the container
    itself; `restore(container, values)` gives it back its items after a restart."""

    containers: str  # the field of the backend that holds the containers, by name
    held: tuple[str, ...] = ()  # the container's fields that hold its items

    @classmethod
    def state(cls, container) -> dict:
        return {field: value for field, value in vars(container).items() if field not in cls.held}

    @staticmethod
    def items(container):
        raise NotImplementedError

    @staticmethod
    def restore(container, values: list) -> None:
        raise NotImplementedError


class Parted:
    """An object inside a container, written with the container but without its items (a
    table's stream shard, a Kinesis shard): made whole again by `rebuilt` on restore."""

    def __init__(self, made, without: tuple[str, ...]):
        self.kind = type(made)
        self.fields = {field: value for field, value in vars(made).items() if field not in without}

    def rebuilt(self, **items):
        made = self.kind.__new__(self.kind)
        made.__dict__.update(self.fields)
        made.__dict__.update(items)
        return made


class TableItems(Itemized):
    """DynamoDB: each table, each of its items (by hash key, or hash and range key; indexes
    hold no copies, moto scans the items for them) and the records of its stream shard (by
    position: moto numbers a record by where it is appended, and never trims the list; see
    in_blocks). UpdateItem changes an item in place, deep inside its attributes (ADD to a
    set, SET of a nested path), so an item's signature is its identity and a revision that
    track_updates raises before each update; a put or a delete replaces the item object."""

    containers = "tables"
    held = ("items",)

    @classmethod
    def state(cls, table) -> dict:
        state = super().state(table)
        if table.stream_shard is not None:
            state["stream_shard"] = Parted(table.stream_shard, ("items",))
        return state

    @staticmethod
    def items(table):
        # The signatures keep the objects, so that their ids cannot be reused meanwhile.
        if table.range_key_attr is None:
            for hash_key, item in dict.items(table.items):
                yield (hash_key.type, hash_key.value), (id(item), vars(item).get(REVISION), item), item
        else:
            for hash_key, ranged in dict.items(table.items):
                for range_key, item in ranged.items():
                    yield ((hash_key.type, hash_key.value, range_key.type, range_key.value),
                           (id(item), vars(item).get(REVISION), item), item)
        if table.stream_shard is not None:
            yield from in_blocks(table.stream_shard.items, lambda key: key, lambda value: value)

    @staticmethod
    def restore(table, values: list) -> None:
        from moto.dynamodb.models.table import StreamRecord

        items, records = defaultdict(dict), []
        for value in values:
            if isinstance(value, list):  # a block of records
                records += value
            elif isinstance(value, StreamRecord):
                records.append(value)
            elif table.range_key_attr is None:
                items[value.hash_key] = value
            else:
                items[value.hash_key][value.range_key] = value
        table.items = items
        if isinstance(table.stream_shard, Parted):
            records.sort(key=lambda record: int(record.record["dynamodb"]["SequenceNumber"]))
            table.stream_shard = table.stream_shard.rebuilt(items=records)


class StreamRecords(Itemized):
    """Kinesis: each stream, and the records of each of its shards (in_blocks, by shard). A
    split or a merge moves records into new shards, written as new units."""

    containers = "streams"

    @classmethod
    def state(cls, stream) -> dict:
        state = super().state(stream)
        state["shards"] = {shard_id: Parted(shard, ("records",)) for shard_id, shard in stream.shards.items()}
        return state

    @staticmethod
    def items(stream):
        for shard_id, shard in stream.shards.items():
            yield from in_blocks(list(shard.records.values()), lambda key, shard_id=shard_id: (shard_id, key),
                                 lambda value, shard_id=shard_id: (shard_id, value))

    @staticmethod
    def restore(stream, values: list) -> None:
        records = defaultdict(list)
        for shard_id, value in values:
            records[shard_id] += value if isinstance(value, list) else [value]
        stream.shards = {shard_id: parted.rebuilt(records=OrderedDict(
            (record.sequence_number, record) for record in sorted(records[shard_id], key=_sequence_number)))
            for shard_id, parted in stream.shards.items()}


# A stream's records are only ever appended (moto never trims them), so each full block of
# this many is one unit, compared in O(1), and only the records after the last full block
# are units of their own: a write compares about BLOCK units, not every record ever written.
# A block is written once, as it fills (its records' own units then go), about BLOCK times
# a record's size.
BLOCK = 128


def in_blocks(records: list, key, value):
    """(key, signature, value) for a list of records that is only appended to: a full block by
    the range of its positions, the records after it by position. A record never changes
    once written, so a block's first and last records are its signature (compared by
    identity): a list moto replaced (a new shard) has other records there."""
    full = len(records) - len(records) % BLOCK
    for first in range(0, full, BLOCK):
        yield key(range(first, first + BLOCK)), (records[first], records[first + BLOCK - 1]), \
            value(_Block(records, first))
    for position in range(full, len(records)):
        yield key(position), records[position], value(records[position])


class _Block:
    """A full block of records, pickled as the list of them, and sliced only when written."""

    __slots__ = ("first", "records")

    def __init__(self, records: list, first: int):
        self.records, self.first = records, first

    def __reduce__(self):
        return list, (self.records[self.first:self.first + BLOCK],)


def _sequence_number(record) -> int:
    return record.sequence_number


def _revised(item) -> None:
    item.__dict__[REVISION] = item.__dict__.get(REVISION, 0) + 1  # its own count: always a new value


def track_updates(itemized: dict) -> None:
    """Raise an item's revision before moto changes it in place: the update expression's
    executor (UpdateItem, and TransactWriteItems' Update) and AttributeUpdates are the only
    two ways. Were they to move in another moto version, DynamoDB is taken out of `itemized`
    and pickled whole again, slower but right."""
    try:
        from moto.dynamodb.models.dynamo_type import Item
        from moto.dynamodb.parsing.executors import UpdateExpressionExecutor

        executor_init, attribute_updates = UpdateExpressionExecutor.__init__, Item.update_with_attribute_updates
    except (ImportError, AttributeError):
        itemized.pop("dynamodb", None)
        return
    if getattr(executor_init, "_revises", False):
        return

    def revising_init(self, update_ast, item, *args, **kwargs):
        _revised(item)  # before: an update that fails half-way has changed the item too
        executor_init(self, update_ast, item, *args, **kwargs)

    def revising_updates(self, *args, **kwargs):
        _revised(self)
        return attribute_updates(self, *args, **kwargs)

    revising_init._revises = revising_updates._revises = True
    UpdateExpressionExecutor.__init__ = revising_init
    Item.update_with_attribute_updates = revising_updates
