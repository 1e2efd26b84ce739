"""What a chest X-ray database takes from a study: frontal chest radiographs and reports.

The view is decided by ingest's own rules (:func:`chestx.database.views.view_of` over the same
header fields, :data:`chestx.database.views.CHEST_BODY_PARTS`), first from the series-level
answer, then per instance: a series or instance that says lateral (or another non-frontal
view), a body part that is not a chest, or a modality that is not a radiograph (CT, MR, ...)
is never fetched, and is listed with its reason. A view nothing decides is fetched and left
to ingest (``--unknown-views``).
"""

from __future__ import annotations

from chestx.database.views import CHEST_BODY_PARTS, view_of

#: Series-level keys asked for (the view fields of ingest that a PACS can answer).
SERIES_FIELDS = ["SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
                 "BodyPartExamined", "ViewPosition", "ProtocolName",
                 "NumberOfSeriesRelatedInstances", "PatientID"]
#: Instance-level keys asked for.
INSTANCE_FIELDS = ["SOPInstanceUID", "SOPClassUID", "InstanceNumber", "ViewPosition",
                   "ImageComments"]
#: Report documents: DICOM SR (read by ingest) and encapsulated documents (listed there).
REPORT_MODALITIES = frozenset({"SR", "DOC"})


def series_decision(series: dict[str, str], modalities: tuple[str, ...]) -> str:
    """``""`` when the series is taken, else why not (one line)."""
    modality = series.get("Modality", "").upper()
    if modality in REPORT_MODALITIES:
        return ""
    if modality not in modalities:
        return f"modality {modality or 'unknown'}: not a chest radiograph ({'/'.join(modalities)})"
    return _image_decision(series)


def instance_decision(instance: dict[str, str], series: dict[str, str]) -> str:
    """``""`` when an instance of a taken series is fetched, else why not."""
    if series.get("Modality", "").upper() in REPORT_MODALITIES:
        return ""
    merged = {**series, **{k: v for k, v in instance.items() if v}}
    return _image_decision(merged)


def _image_decision(header: dict[str, str]) -> str:
    body_part = header.get("BodyPartExamined", "")
    if body_part and not CHEST_BODY_PARTS.search(body_part):
        return f"body part {body_part!r} is not a chest"
    view, source = view_of(header)
    if view in ("LATERAL", "OTHER"):
        return f"not a frontal view ({source})"
    return ""
