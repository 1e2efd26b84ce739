"""Label reports in several processes, in input order, with a bounded number of batches
in flight (so memory stays flat however long the input is).

On Linux the workers are forked after the parent has loaded spaCy, so the model is shared
copy-on-write instead of being loaded once per worker.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

_WORKER_LABELER = None  # set in the parent before forking, or by _init in spawned workers


def _init(labeler) -> None:
    global _WORKER_LABELER
    _WORKER_LABELER = labeler


def _label_batch(texts: list[str]):
    return _WORKER_LABELER.label_batch(texts)


def batches(items: Iterable, size: int) -> Iterator[list]:
    """``items`` in lists of ``size`` (the last one shorter), read lazily."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def label_parallel(labeler, texts: Iterable[str], workers: int) -> Iterator:
    """Yield ``labeler.label_batch`` results for ``texts`` using ``workers`` processes."""
    global _WORKER_LABELER
    labeler.nlp  # noqa: B018 -- load the model before forking: children share it
    methods = mp.get_all_start_methods()
    if "fork" in methods:
        _WORKER_LABELER = labeler
        executor = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
    else:  # spawn: each worker unpickles its own labeler
        executor = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                       initializer=_init, initargs=(labeler,))
    pending: deque = deque()
    try:
        for batch in batches(texts, labeler.batch_size):
            pending.append(executor.submit(_label_batch, batch))
            if len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
