"""The files of the AWS endpoint's state: manifest.json names the snapshot and the journal in
use; both are frames of records, each checked by its CRC."""


import json
import os
import pickle
import struct
import zlib
from pathlib import Path

# A frame: payload length and CRC-32, then the pickled list of records. A frame cut short by a
# kill (never acknowledged, since its sync had not returned) is where reading stops.
_FRAME = struct.Struct("<II")


class StateUnreadable(Exception):
    pass


class StateNotWritten(Exception):
    pass


class Files:
    """manifest.json names the snapshot and the journal in use; both are frames of records.
    A record is ("put", key, blob, kind) or ("del", key)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.manifest_path = self.folder / "manifest.json"

    def manifest(self) -> dict | None:
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return None

    @staticmethod
    def frames(path: Path, whole: bool) -> list[list]:
        """The frames in a file. A torn last frame of the journal is left out (it was never
        acknowledged); a snapshot is synced before the manifest names it, so it must be whole."""
        frames, offset = [], 0
        data = path.read_bytes()
        while offset + _FRAME.size <= len(data):
            length, crc = _FRAME.unpack_from(data, offset)
            payload = data[offset + _FRAME.size:offset + _FRAME.size + length]
            if len(payload) < length or zlib.crc32(payload) != crc:
                break
            frames.append(pickle.loads(payload))
            offset += _FRAME.size + length
        if whole and offset != len(data):
            raise StateUnreadable(f"{path.name} is damaged at byte {offset} of {len(data)}")
        return frames

    @staticmethod
    def frame(records: list) -> bytes:
        payload = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
        return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload

    def write_new(self, name: str, data: bytes) -> None:
        with open(self.folder / name, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fdatasync(handle.fileno())

    def switch(self, manifest: dict) -> None:
        temporary = self.manifest_path.with_suffix(".tmp")
        with open(temporary, "w") as handle:
            json.dump(manifest, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.manifest_path)  # from here on, the new files are the state
        try:
            directory = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
            for leftover in self.folder.iterdir():
                if leftover.name not in (manifest["snapshot"], manifest["journal"], self.manifest_path.name):
                    leftover.unlink()
        except OSError:
            pass  # the rename is done; old files left behind are removed at the next switch


