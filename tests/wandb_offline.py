"""Read a W&B offline run file (``offline-run-*/run-*.wandb``) back.

wandb up to 0.2x shipped a Python reader for these files
(``wandb.sdk.internal.datastore``); later versions read them in their Go
core only. The file is a LevelDB-style log: a 7-byte header (``:W&B``, a
magic number, a version), then 32 KiB blocks of records, each a 7-byte
header (checksum, length, kind: full, or first / middle / last piece of a
record that spans blocks) and a piece of a protobuf ``Record``. The pieces
are joined here and decoded with wandb's own protobuf classes.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Iterator

BLOCK = 32 * 1024
RECORD_HEADER = 7
FILE_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> Iterator:
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path}: not a W&B run file")
    pos, pieces = FILE_HEADER, []
    while pos + RECORD_HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < RECORD_HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[pos:pos + RECORD_HEADER])
        pos += RECORD_HEADER
        if kind == 0 and length == 0:  # zero padding
            continue
        pieces.append(data[pos:pos + length])
        pos += length
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(b"".join(pieces))
            pieces = []
            yield record


def _key(item) -> str:
    return "/".join(item.nested_key) if item.nested_key else item.key


def read_run(path: Path) -> dict:
    """``{"config": {...}, "history": [row, ...], "summary": {...}}`` with JSON
    values decoded; the summary is the last value written for each key."""
    config, history, summary = {}, [], {}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            config.update({i.key: json.loads(i.value_json) for i in record.run.config.update})
        elif kind == "config":
            config.update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            history.append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            summary.update({_key(i): json.loads(i.value_json) for i in record.summary.update})
    return {"config": config, "history": history, "summary": summary}
