"""Where each stream event source mapping is in each shard: the sequence number of the last
record it is done with, one small file per (function, event, shard, stream), so that a restart of
the event runner goes on after it and re-delivers at most the batch that was in flight.

A checkpoint names the stream it belongs to (a DynamoDB stream's ARN carries its creation
label; a Kinesis stream keeps its ARN when recreated, so its creation time is kept too): a
table or stream deleted and made again starts over at the mapping's starting position,
where its sequence numbers start over too. Each file is written whole to a temporary name,
synced, and renamed over the old one, so a kill mid-write leaves the previous checkpoint."""

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Checkpoint:
    stream_arn: str
    shard_id: str
    sequence_number: str | None = None  # the last record done with; None: none yet
    finished: bool = False  # a closed shard read to its end: its children come next
    stream_created: float | None = None  # Kinesis: StreamCreationTimestamp


class CheckpointStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, function: str, event: str, shard_id: str, stream_arn: str, stream_created: float | None) -> Path:
        # The stream is in the name too: a poller of a stream that was deleted and made again,
        # still finishing its batch, must not write over the new stream's position.
        stream = hashlib.blake2b(f"{stream_arn}|{stream_created}".encode(), digest_size=4).hexdigest()
        return self.folder / f"{_safe(function)}.{_safe(event)}.{_safe(shard_id)}.{stream}.json"

    def load(self, function: str, event: str, shard_id: str, stream_arn: str,
             stream_created: float | None = None) -> Checkpoint | None:
        """The checkpoint of this shard of this stream; None when there is none, it is
        unreadable, or it belongs to an earlier stream of the same name."""
        try:
            data = json.loads(self.path(function, event, shard_id, stream_arn, stream_created).read_text())
            checkpoint = Checkpoint(**data)
        except (OSError, ValueError, TypeError):
            return None
        if checkpoint.stream_arn != stream_arn or checkpoint.shard_id != shard_id \
                or checkpoint.stream_created != stream_created:
            return None
        return checkpoint

    def save(self, function: str, event: str, checkpoint: Checkpoint) -> None:
        """Raises OSError when it could not be written (the old one is then still there)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(function, event, checkpoint.shard_id, checkpoint.stream_arn, checkpoint.stream_created)
        temporary = path.with_name(path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(asdict(checkpoint), file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        # The rename itself is on disk only once the folder is synced.
        folder = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)
