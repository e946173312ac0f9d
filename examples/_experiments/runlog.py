"""A resumable record of finished fits: runs.jsonl, one JSON line per fit, flushed."""

import json
import os
from pathlib import Path

from .fits import KEY_FIELDS


class RunLog:
    """``runs.jsonl`` in the results folder: one JSON line per finished fit, appended and flushed.

    A rerun reads it and skips what is there, so an interrupted sweep resumes where it stopped.
    """

    def __init__(self, results):
        self.path = Path(results) / "runs.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records = []
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    self.records.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by a crash
                    continue

    @staticmethod
    def key(record):
        return tuple(record.get(k) for k in KEY_FIELDS) + (record.get("kind", "fit"),)

    def find(self, job, tests=()):
        """The latest record of ``job`` that has an accuracy on every test set in ``tests``."""
        key = self.key(job)
        for record in reversed(self.records):
            if self.key(record) == key and all(t in record.get("accuracy", {}) for t in tests):
                return record
        return None

    def add(self, record):
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records.append(record)
