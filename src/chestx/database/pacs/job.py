"""A query or a retrieve job from its settings: reads the input list, makes the transport
(and for C-MOVE the storage SCP, for de-identification the pseudonymizer), runs, cleans up."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from chestx.database.pacs.deidentify import Pseudonymizer, default_key_path
from chestx.database.pacs.pacs_config import QueryConfig, RetrieveConfig
from chestx.database.pacs.query import (
    StudyQuery,
    find_studies,
    parse_modalities,
    read_cohort,
    read_studies,
    write_studies,
)
from chestx.database.pacs.retrieve import Retriever, RetrieveSettings, RetrieveSummary
from chestx.database.pacs.storescp import StorageSCP
from chestx.database.pacs.transports import transport_factory
from chestx.database.pacs.window import TimeWindow
from chestx.errors import ChestxError


@dataclass
class QueryOutcome:
    """What :func:`run_query` found: the study rows written, where from, how many queries."""

    rows: list[dict]
    where: str
    queries: int


@dataclass
class RetrieveOutcome:
    """What :func:`run_retrieve` did, where from, and the de-identification key (or ``None``)."""

    summary: RetrieveSummary
    where: str
    key_path: Path | None


def run_query(config: QueryConfig) -> QueryOutcome:
    """Find the studies of ``config`` (one query, or one per cohort row) and write them to
    ``config.output``."""
    modalities = parse_modalities(config.modality)
    queries = read_cohort(config.from_csv, modalities) if config.from_csv else \
        [StudyQuery.from_options(modalities, config.since, config.until, config.patient,
                                 config.accession)]
    make, where = transport_factory(config.dicomweb, config.dimse, config.aet,
                                    timeout=config.timeout)
    transport = make()
    try:
        rows = find_studies(transport, queries)
    finally:
        transport.close()
    write_studies(config.output, rows)
    return QueryOutcome(rows, where, len(queries))


def run_retrieve(config: RetrieveConfig, progress: bool = True) -> RetrieveOutcome:
    """Fetch the studies listed in ``config.studies`` into ``config.out`` (resumable); with
    ``move_dest`` through our own storage SCP, open for the length of the job."""
    rows = read_studies(config.studies)
    if bool(config.move_dest) != bool(config.store_port):
        raise ChestxError("C-MOVE needs both a move destination AE title and a storage port")
    settings = RetrieveSettings(parse_modalities(config.modality), config.max_concurrent,
                                config.retries, config.backoff,
                                TimeWindow.parse(config.window) if config.window else None,
                                progress)
    key_path = config.key or default_key_path(config.out)
    pseudonymizer = Pseudonymizer(key_path, config.burned_in, protect=config.out) \
        if config.deidentify else None
    with contextlib.ExitStack() as stack:
        scp = stack.enter_context(StorageSCP(config.move_dest, config.store_port,
                                             config.store_host)) if config.move_dest else None
        make, where = transport_factory(config.dicomweb, config.dimse, config.aet,
                                        config.move_dest, scp, config.timeout)
        summary = Retriever(make, config.out, settings, pseudonymizer,
                            private_dir=key_path.parent if config.deidentify else None).run(rows)
    return RetrieveOutcome(summary, where, key_path if config.deidentify else None)
