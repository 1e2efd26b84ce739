"""What a retrieve asks the PACS: the listing of a study, and the fewest retrieve requests
that bring exactly the instances still missing.

Listing: one instance-level query for many studies (a list of StudyInstanceUIDs), asking
for the series keys too (a PACS answers them with every instance: QIDO-RS does by the
standard, most C-FIND SCPs do). A study that query does not answer gets one instance-level
query of its own; only where the answers lack the series keys (a strict hierarchical C-FIND
SCP) does it fall back to a series-level query and one instance-level query per series.

Requests (:class:`~chestx.database.pacs.wire.FetchRequest`): studies wanted whole (nothing skipped,
nothing in place yet) in one STUDY-level request; whole series of the other studies in one
SERIES-level request per study; the rest (a resumed series, a series with a skipped
instance) as lists of instances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chestx.database.pacs.deidentify import instance_path
from chestx.database.pacs.jobstate import JobState
from chestx.database.pacs.selection import (
    INSTANCE_FIELDS,
    SERIES_FIELDS,
    instance_decision,
    series_decision,
)
from chestx.database.pacs.wire import FetchRequest, Transport
from chestx.errors import ChestxError

#: Keys of one study-wide instance query: the instance's own and its series'.
LISTING_FIELDS = list(dict.fromkeys(["SeriesInstanceUID", *SERIES_FIELDS, *INSTANCE_FIELDS]))
#: Series keys an instance answer must carry for the one-query listing to be trusted.
NEEDED_SERIES_KEYS = ("SeriesInstanceUID", "Modality")


@dataclass
class Listing:
    """A study's series (series UID -> series keys) and instances (series UID -> rows)."""

    series: dict[str, dict[str, str]] = field(default_factory=dict)
    instances: dict[str, list[dict[str, str]]] = field(default_factory=dict)


def list_studies(transport: Transport, uids: list[str]) -> dict[str, Listing]:
    """Listings of many studies from one instance-level query (a UID list, PS3.4 C.2.2.2.2;
    QIDO-RS: comma-separated), best effort: a study it does not answer is left out (then
    :func:`list_study` asks for it alone), and answers without the series keys give none."""
    if len(uids) < 2:
        return {}
    answers = transport.find("IMAGE", {"StudyInstanceUID": list(uids)},
                             ["StudyInstanceUID", *LISTING_FIELDS])
    wanted = set(uids)
    if not all(a.get(k) for a in answers for k in NEEDED_SERIES_KEYS) or \
            not all(a.get("StudyInstanceUID") in wanted for a in answers):
        return {}
    listings: dict[str, Listing] = {}
    for answer in answers:
        _add(listings.setdefault(answer["StudyInstanceUID"], Listing()), answer)
    return listings


def _add(listing: Listing, answer: dict[str, str]) -> None:
    series = answer["SeriesInstanceUID"]
    listing.series.setdefault(series, {k: answer.get(k, "") for k in SERIES_FIELDS})
    listing.instances.setdefault(series, []).append(
        {k: answer.get(k, "") for k in INSTANCE_FIELDS})


def list_study(transport: Transport, uid: str) -> Listing:
    """The series and instances of study ``uid`` (one query where the PACS allows it)."""
    listing = Listing()
    answers = transport.find("IMAGE", {"StudyInstanceUID": uid}, LISTING_FIELDS)
    if answers and all(a.get(k) for a in answers for k in NEEDED_SERIES_KEYS):
        for answer in answers:
            _add(listing, answer)
        return listing
    for series in transport.find("SERIES", {"StudyInstanceUID": uid}, SERIES_FIELDS):
        listing.series[series["SeriesInstanceUID"]] = series
    return listing  # instances of the taken series: asked for by :func:`record_study`


def record_study(transport: Transport, study: dict[str, str], state: JobState,
                 modalities: tuple[str, ...], pseudonymizer=None,
                 listing: Listing | None = None) -> None:
    """List ``study`` (unless ``listing`` is given), decide what is taken, and record it
    (with where each file lands)."""
    uid = study["StudyInstanceUID"]
    listing = listing or list_study(transport, uid)
    if not listing.series:
        raise ChestxError(f"study {uid}: the PACS lists no series in it")
    rows, totals = [], []
    for series_uid, series in listing.series.items():
        reason = series_decision(series, modalities)
        if reason:
            state.add_skipped(uid, "series", series_uid, reason)
            continue
        instances = listing.instances.get(series_uid)
        if instances is None:  # the fallback: one query for this series
            query = {"StudyInstanceUID": uid, "SeriesInstanceUID": series_uid}
            instances = transport.find("IMAGE", query, INSTANCE_FIELDS)
        totals.append((series_uid, len(instances)))
        patient = series.get("PatientID") or study.get("PatientID", "")
        for instance in instances:
            reason = instance_decision(instance, series)
            if reason:
                state.add_skipped(uid, "instance", instance["SOPInstanceUID"], reason)
                continue
            ids = (patient, uid, series_uid, instance["SOPInstanceUID"])
            if pseudonymizer is not None:
                ids = pseudonymizer.pseudonymous_ids(*ids)
            rows.append((instance["SOPInstanceUID"], series_uid,
                         instance.get("SOPClassUID", ""), str(instance_path(Path(), ids))))
    state.add_series(uid, totals)
    state.add_instances(uid, rows)


def plan_requests(studies: list[str], todo: dict[str, list[dict[str, str]]],
                  state: JobState) -> list[FetchRequest]:
    """The requests that fetch ``todo`` (study UID -> instances not in place)."""
    whole, requests = [], []
    for uid in studies:
        instances = todo.get(uid, [])
        if not instances:
            continue
        whole_series = state.whole_series(uid)
        by_series: dict[str, list[dict[str, str]]] = {}
        for instance in instances:
            by_series.setdefault(instance["SeriesInstanceUID"], []).append(instance)
        if set(by_series) <= whole_series and not state.has_skipped(uid):
            whole.append(uid)
            continue
        series_whole = sorted(s for s in by_series if s in whole_series)
        if series_whole:
            taken = [(uid, i) for s in series_whole for i in by_series[s]]
            requests.append(_request("SERIES", (uid,), taken, series=tuple(series_whole)))
        for series, rows in sorted(by_series.items()):
            if series not in whole_series:
                requests.append(_request("IMAGE", (uid,), [(uid, r) for r in rows],
                                         series=(series,),
                                         sops=tuple(r["SOPInstanceUID"] for r in rows)))
    if whole:
        taken = [(uid, i) for uid in whole for i in todo[uid]]
        requests.insert(0, _request("STUDY", tuple(whole), taken))
    return requests


def _request(level: str, studies: tuple[str, ...],
             instances: list[tuple[str, dict[str, str]]], **kwargs) -> FetchRequest:
    """A request for ``instances`` ((study UID, instance row) pairs)."""
    members = tuple((study, i["SeriesInstanceUID"], i["SOPInstanceUID"])
                    for study, i in instances)
    return FetchRequest(level, studies, members=members,
                        classes=frozenset(i["SOPClassUID"] for _, i in instances
                                          if i.get("SOPClassUID")), **kwargs)
