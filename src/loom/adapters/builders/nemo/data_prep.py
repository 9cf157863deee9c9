"""Inside the GPU step: the dataset's events -> the files the training recipe reads.

- token shards (`data/events_{train,val}_000.bin`): each entity's events flattened into one
  token stream (a 0 separates entities), in the nanoGPT shard layout (int32[256] header:
  magic 20240520, version 1, token count; then uint16 tokens);
- event pairs (`data/event_pairs.jsonl`): two consecutive windows of one entity's events as
  text (query, positive) plus a window of another entity (negative), for the bi-encoder.
Uses the local builder's tokenizer, so ids are the same stable ids on CPU and GPU.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHARD_MAGIC = 20240520  # the legacy nanoGPT shard header the recipe's dataset accepts
SHARD_VERSION = 1


def token_stream(tokens: Any, entity: Any) -> Any:
    """uint16 stream: for each entity, 0 then its events' tokens in time order."""
    import numpy as np

    n, k = tokens.shape
    starts = np.flatnonzero(np.r_[True, entity[1:] != entity[:-1]]) if n else np.array([], int)
    flat = tokens.astype(np.uint16).ravel()
    return np.insert(flat, starts * k, np.uint16(0))


def write_shard(path: Path, stream: Any) -> Path:
    import numpy as np

    header = np.zeros(256, dtype=np.int32)
    header[0], header[1], header[2] = SHARD_MAGIC, SHARD_VERSION, len(stream)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(header.tobytes())
        fh.write(np.asarray(stream, dtype=np.uint16).tobytes())
    return path


def write_shards(seqs: Any, out_dir: Path, val_fraction: float, seed: int) -> dict[str, int]:
    """Train/val shards split by entity (the same stable hash as the local builder's split)."""
    from loom.adapters.builders.local.heads import sealed_mask

    val_entities = sealed_mask(seqs.entity_ids, val_fraction, seed)
    is_val = val_entities[seqs.entity]
    counts = {}
    for name, rows in (("train", ~is_val), ("val", is_val)):
        stream = token_stream(seqs.tokens[rows], seqs.entity[rows])
        write_shard(Path(out_dir) / f"events_{name}_000.bin", stream)
        counts[name] = int(len(stream))
    return counts


def write_pairs(seqs: Any, vocab: list[str], path: Path, window: int = 4, seed: int = 0) -> int:
    """Bi-encoder records {query, pos_doc, neg_doc}: consecutive windows of one entity."""
    import numpy as np

    rng = np.random.default_rng(seed)
    words = np.asarray(vocab, dtype=object)
    starts = seqs.starts()
    ends = np.r_[starts[1:], len(seqs.entity)]
    windows: list[tuple[int, str]] = []
    for e, (a, b) in enumerate(zip(starts, ends)):
        for w in range(a, b - window + 1, window):
            text = " | ".join(" ".join(words[row]) for row in seqs.tokens[w:w + window])
            windows.append((e, text))
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(len(windows) - 1):
            (e1, q), (e2, p) = windows[i], windows[i + 1]
            if e1 != e2:
                continue
            j = int(rng.integers(0, len(windows)))
            if windows[j][0] == e1:
                continue
            fh.write(json.dumps({"query": q, "pos_doc": p, "neg_doc": [windows[j][1]]}) + "\n")
            written += 1
    return written
