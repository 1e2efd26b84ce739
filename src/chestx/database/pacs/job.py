"""A query or a retrieve job from its settings: reads the input list, makes the transport
(for a retrieve: :func:`chestx.database.pacs.retrieve.retrieve` wires the storage SCP and the
pseudonymizer), runs, cleans up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chestx.database.pacs.pacs_config import QueryConfig, RetrieveConfig
from chestx.database.pacs.query import (
    StudyQuery,
    find_studies,
    parse_modalities,
    read_cohort,
    read_studies,
    write_studies,
)
from chestx.database.pacs.retrieve import RetrieveSettings, RetrieveSummary, Source, retrieve
from chestx.database.pacs.transports import transport_factory
from chestx.database.pacs.window import TimeWindow


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
    settings = RetrieveSettings(parse_modalities(config.modality), config.max_concurrent,
                                config.retries, config.backoff,
                                TimeWindow.parse(config.window) if config.window else None,
                                progress)
    source = Source(config.dicomweb, config.dimse, config.aet, config.move_dest,
                    config.store_port, config.store_host, config.timeout,
                    config.max_associations)
    summary, where, key_path = retrieve(rows, config.out, source, settings, config.deidentify,
                                        config.key, config.burned_in)
    return RetrieveOutcome(summary, where, key_path if config.deidentify else None)
