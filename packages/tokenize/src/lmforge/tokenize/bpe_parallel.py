"""Word shards in worker processes: each merge is broadcast, each worker rewrites its own words.

The parent keeps the pair counts and the heap; per merge it sends ``(a, b, new_id)`` to every worker
and gets back that shard's ``(lost, fresh)`` pair-count changes. Workers are forked, so the word counts
reach them without pickling; only the small per-merge dicts cross the pipes.
"""

from __future__ import annotations

import multiprocessing as mp

from .bpe_words import WordShard


def _serve(conn, words, counts) -> None:
    shard = WordShard(words, counts)
    conn.send(shard.pair_counts())
    while True:
        msg = conn.recv()
        if msg is None:
            break
        conn.send(shard.merge(*msg))
    conn.close()


class ShardPool:
    def __init__(self, parts) -> None:
        ctx = mp.get_context("fork")
        self.conns = []
        self.procs = []
        for words, counts in parts:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, words, counts), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)
        parts.clear()  # the workers have their copies; drop ours

    def __enter__(self) -> ShardPool:
        return self

    def __exit__(self, *exc) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()

    def pair_counts(self) -> list[dict]:
        return [conn.recv() for conn in self.conns]

    def merge(self, a: int, b: int, new_id: int, dead: list[int]) -> list[tuple[dict, dict]]:
        for conn in self.conns:
            conn.send((a, b, new_id, dead))
        return [conn.recv() for conn in self.conns]
