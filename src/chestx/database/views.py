"""Which radiographs are chest radiographs, and which view they show: one source for ingest
(which files become images) and for the PACS retrieve (which series are fetched).

Light on purpose (standard library only): the retrieve imports it without the dataset code.
"""

from __future__ import annotations

import re
from importlib import resources

#: Modalities taken as radiographs ("" when the tag is missing; OT = secondary capture).
RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "RG", "OT", ""})
#: BodyPartExamined values (whole words, any case) taken as a chest; an empty tag passes too.
CHEST_BODY_PARTS = re.compile(r"\b(CHEST|THORAX|LUNGS?|TORAX|THORAX_PA|TORSO)\b", re.I)
#: Header fields searched for view keywords, in order (see frontal_views.tsv).
VIEW_FIELDS = ("ViewPosition", "ViewCodeMeaning", "SeriesDescription", "ProtocolName",
               "AcquisitionDeviceProcessingDescription", "ImageComments", "StudyDescription")


def load_view_rules() -> list[tuple[str, re.Pattern]]:
    """The rules of ``frontal_views.tsv``: ``[(view, compiled whole-word regex), ...]``."""
    text = resources.files("chestx.database").joinpath("frontal_views.tsv").read_text("utf-8")
    rules = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            view, pattern = line.split("\t")[:2]
            # letters/digits around = same word; "_" and "." separate ("CHEST_PA")
            rules.append((view.strip(),
                          re.compile(rf"(?<![A-Za-z0-9])(?:{pattern})(?![A-Za-z0-9])", re.I)))
    return rules


_VIEW_RULES: list[tuple[str, re.Pattern]] = []


def view_of(header: dict[str, str]) -> tuple[str, str]:
    """Decide the view of one image from its header fields.

    Returns ``(view, source)``: view ``"PA"``/``"AP"`` (frontal), ``"LATERAL"``/``"OTHER"``, or
    ``""`` when nothing decides; source names the field that decided (``ViewPosition='LL'``).
    ViewPosition ``PA``/``AP`` decides at once; otherwise the fields of :data:`VIEW_FIELDS`
    are searched with the rules of ``frontal_views.tsv``, the first field naming exactly one
    view deciding.
    """
    if not _VIEW_RULES:
        _VIEW_RULES.extend(load_view_rules())
    position = header.get("ViewPosition", "").strip().upper()
    if position in ("PA", "AP"):
        return position, f"ViewPosition={position}"
    for name in VIEW_FIELDS:
        value = header.get(name, "")
        views = {view for view, pattern in _VIEW_RULES if value and pattern.search(value)}
        if len(views) == 1:
            return views.pop(), f"{name}={value!r}"
    return "", f"ViewPosition={position!r}" if position else "no ViewPosition"
