"""The service's entities in memory, saved to the store on every change (see store.py for when it
commits). Each kind has one writer (docs/architecture.md): the documents are the REST API's wire
form, and what only the service needs (a task's process group, why a job is terminating) is kept
beside them, in side records, never inside."""

from __future__ import annotations

from . import wire
from .ids import key
from .store import Store


class Registry:
    def __init__(self, store: Store):
        self.store = store
        self.pools: dict[str, dict] = dict(store.load("pool"))
        self.jobs: dict[str, dict] = dict(store.load("job"))
        self.nodes: dict[str, dict[str, dict]] = {k: {} for k in self.pools}
        for compound, doc in store.load("node"):
            self.nodes.setdefault(compound.split("/")[0], {})[doc["id"]] = doc
        self.tasks: dict[str, dict[str, dict]] = {k: {} for k in self.jobs}
        for compound, doc in store.load("task"):
            self.tasks.setdefault(compound.split("/")[0], {})[compound.split("/")[1]] = doc
        self.job_side: dict[str, dict] = dict(store.load("job-side"))
        self.task_side: dict[str, dict[str, dict]] = {}
        for compound, fields in store.load("task-side"):
            self.task_side.setdefault(compound.split("/")[0], {})[compound.split("/")[1]] = fields

    def touch(self, doc: dict) -> None:
        """A new ETag and Last-Modified after a change the user made."""
        doc["eTag"] = wire.new_etag()
        doc["lastModified"] = wire.iso(wire.now())

    def save_pool(self, doc: dict) -> None:
        self.pools[key(doc["id"])] = doc
        self.nodes.setdefault(key(doc["id"]), {})
        self.store.put("pool", key(doc["id"]), doc)

    def save_job(self, doc: dict) -> None:
        self.jobs[key(doc["id"])] = doc
        self.tasks.setdefault(key(doc["id"]), {})
        self.store.put("job", key(doc["id"]), doc)

    def save_task(self, job_key: str, doc: dict) -> None:
        self.tasks[job_key][key(doc["id"])] = doc
        self.store.put("task", f"{job_key}/{key(doc['id'])}", doc)

    def save_node(self, pool_key: str, doc: dict) -> None:
        self.nodes.setdefault(pool_key, {})[doc["id"]] = doc
        self.store.put("node", f"{pool_key}/{doc['id']}", doc)

    def save_job_side(self, job_key: str, **fields) -> None:
        """Set (or, with None, clear) the service's own fields of a job."""
        side = {k: v for k, v in {**self.job_side.get(job_key, {}), **fields}.items()
                if v is not None}
        if side:
            self.job_side[job_key] = side
            self.store.put("job-side", job_key, side)
        elif self.job_side.pop(job_key, None) is not None:
            self.store.delete("job-side", job_key)

    def save_task_side(self, job_key: str, task_key: str, **fields) -> None:
        """Set (or, with None, clear) the service's own fields of a task."""
        mine = self.task_side.get(job_key, {})
        side = {k: v for k, v in {**mine.get(task_key, {}), **fields}.items() if v is not None}
        if side:
            self.task_side.setdefault(job_key, {})[task_key] = side
            self.store.put("task-side", f"{job_key}/{task_key}", side)
        elif mine.pop(task_key, None) is not None:
            self.store.delete("task-side", f"{job_key}/{task_key}")

    def drop_pool(self, pool_key: str) -> None:
        self.store.delete_prefix("node", pool_key + "/")
        self.store.delete("pool", pool_key)
        self.nodes.pop(pool_key, None)
        self.pools.pop(pool_key, None)

    def drop_node(self, pool_key: str, node_id: str) -> None:
        self.store.delete("node", f"{pool_key}/{node_id}")
        self.nodes.get(pool_key, {}).pop(node_id, None)

    def drop_job(self, job_key: str) -> None:
        self.store.delete_prefix("task", job_key + "/")
        self.store.delete_prefix("task-side", job_key + "/")
        self.store.delete("job", job_key)
        self.store.delete("job-side", job_key)
        self.task_side.pop(job_key, None)
        self.job_side.pop(job_key, None)
        self.tasks.pop(job_key, None)
        self.jobs.pop(job_key, None)

    def drop_task(self, job_key: str, task_key: str) -> None:
        if self.task_side.get(job_key, {}).pop(task_key, None) is not None:
            self.store.delete("task-side", f"{job_key}/{task_key}")
        self.store.delete("task", f"{job_key}/{task_key}")
        self.tasks.get(job_key, {}).pop(task_key, None)
