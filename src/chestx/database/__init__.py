"""The hospital database builder: a PACS (:mod:`.pacs`) or a DICOM folder, with its reports
(SR, :mod:`.sr`) and views (:mod:`.views`), into the NIH layout (:mod:`.ingest`)."""
