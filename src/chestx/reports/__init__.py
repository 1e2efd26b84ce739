"""Report labeler: mine the 14 findings and Normal from radiology reports (paper §2.1-2.2).

Public API::

    from chestx.reports import label_reports
    for result in label_reports(texts, workers=1):
        result.labels          # {"Atelectasis": 1 | 0 | -1 | None, ...} (14 findings)
        result.normal          # 1 when no disease at all is positive
        result.finding_labels  # "Effusion|Mass" or "No Finding" (NIH style)
        result.mentions        # evidence: text, offsets, sentence, status, rule id
"""

from chestx.exports import lazy_exports

_EXPORTS = {
    "Mention": "aggregate",
    "ReportLabels": "aggregate",
    "Labeler": "labeler",
    "label_reports": "labeler",
    "load_nlp": "labeler",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
