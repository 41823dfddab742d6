"""Teacher logits on disk, keyed by the teacher and each text's hash: computed once per distinct text, reused by
a rerun, another student, or `--resume_from_checkpoint`.

Layout: `<cache_dir>/<teacher key>/shard-<n>.npz`, each shard holding `hashes` (the SHA-256 of each text, hex,
first 32 characters) and `logits` (float32, one row per text, in the teacher's own label order). A shard is written
to a temporary name and renamed, so a killed run leaves no partial shard.
"""

import hashlib
import json
import logging
import os
import uuid

import numpy as np

logger = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack")


def default_cache_dir() -> str:
    root = os.environ.get("GRU_HF_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "gru_hf")
    return os.path.join(root, "teacher_logits")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def teacher_key(path: str, max_length: int, name: str | None = None, revision: str | None = None) -> str:
    """A name for the teacher's cache: the hash of its config and weight files (a local directory), or of its Hub id
    and commit, plus the input length it is run with."""
    digest = hashlib.sha256(f"max_length={max_length}".encode())
    if os.path.isdir(path):
        for file in sorted(os.listdir(path)):
            if file == "config.json" or file.endswith(WEIGHT_SUFFIXES) or file.startswith("tokenizer"):
                digest.update(file.encode())
                with open(os.path.join(path, file), "rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        digest.update(block)
    else:
        digest.update(f"{name or path}@{revision}".encode())
    label = "".join(c if c.isalnum() or c in "-_." else "_" for c in os.path.basename(os.path.normpath(name or path)))
    return f"{label[:40]}-{digest.hexdigest()[:16]}"


class LogitCache:
    """The cached logits of one teacher."""

    def __init__(self, cache_dir: str, key: str):
        self.directory = os.path.join(cache_dir, key)
        self._rows: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._rows is None:
            self._rows = {}
            if os.path.isdir(self.directory):
                for file in sorted(os.listdir(self.directory)):
                    if file.startswith("shard-") and file.endswith(".npz"):
                        with np.load(os.path.join(self.directory, file)) as shard:
                            for h, row in zip(shard["hashes"].astype(str), shard["logits"]):
                                self._rows[h] = row
        return self._rows

    def __len__(self) -> int:
        return len(self._load())

    def get(self, hashes: list[str]) -> tuple[np.ndarray, list[int]]:
        """The rows found (zeros elsewhere) and the positions not in the cache."""
        rows = self._load()
        missing = [i for i, h in enumerate(hashes) if h not in rows]
        width = next(iter(rows.values())).shape[0] if rows else 0
        out = np.zeros((len(hashes), width), dtype=np.float32)
        for i, h in enumerate(hashes):
            if h in rows:
                out[i] = rows[h]
        return out, missing

    def add(self, hashes: list[str], logits: np.ndarray) -> None:
        if not hashes:
            return
        os.makedirs(self.directory, exist_ok=True)
        name = f"shard-{len(os.listdir(self.directory)):05d}-{uuid.uuid4().hex[:8]}.npz"
        temporary = os.path.join(self.directory, f".{name}.tmp")
        with open(temporary, "wb") as f:
            np.savez(f, hashes=np.array(hashes, dtype="S32"), logits=logits.astype(np.float32))
        os.replace(temporary, os.path.join(self.directory, name))
        rows = self._load()
        rows.update(zip(hashes, logits.astype(np.float32)))


def cached_teacher_logits(
    teacher, texts: list[str], cache: LogitCache, batch_size: int = 64, unk_token=None, chunk_size: int = 4096
):
    """Logits of `teacher` for every text (teacher label order), running the teacher only on distinct texts that
    are not cached yet, and saving them every `chunk_size` texts (a killed run keeps what it computed). Returns
    `(logits, computed)`: `computed` is how many texts the teacher read this time."""
    from tqdm.auto import tqdm

    hashes = [text_hash(text) for text in texts]
    _, missing = cache.get(hashes)
    first: dict[str, int] = {}
    for i in missing:
        first.setdefault(hashes[i], i)
    distinct = list(first)
    if distinct:
        logger.info(
            "teacher %s: %d distinct texts to run (%d cached)", teacher.name, len(distinct), len(texts) - len(missing)
        )
        with tqdm(total=len(distinct), desc=f"Teacher logits ({teacher.name})", unit="text") as bar:
            for start in range(0, len(distinct), chunk_size):
                chunk = distinct[start : start + chunk_size]
                to_run = [teacher.prepare(texts[first[h]], unk_token) for h in chunk]
                cache.add(chunk, teacher.logits(to_run, batch_size=batch_size, progress=False))
                bar.update(len(chunk))
    else:
        logger.info("teacher %s: all %d texts cached in %s", teacher.name, len(texts), cache.directory)
    logits, _ = cache.get(hashes)
    os.makedirs(cache.directory, exist_ok=True)
    with open(os.path.join(cache.directory, "teacher.json"), "w", encoding="utf-8") as f:
        json.dump({"teacher": teacher.name, "path": str(teacher.path), "texts": len(cache)}, f)
    return logits, len(distinct)


__all__ = ["LogitCache", "cached_teacher_logits", "default_cache_dir", "teacher_key", "text_hash"]
