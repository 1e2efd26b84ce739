"""Pull the database from a hospital PACS (paper §2): query, retrieve, de-identify.

- :mod:`~chestx.pacs.endpoints`  where the PACS is: a DICOMweb URL or ``AET@HOST:PORT``.
- :mod:`~chestx.pacs.wire`       the transport interface, a retrieve request, what arrives.
- :mod:`~chestx.pacs.transports` DICOMweb (QIDO-RS / WADO-RS) and DIMSE (C-FIND, C-GET,
  C-MOVE) behind that interface: :mod:`~chestx.pacs.dicomweb`, :mod:`~chestx.pacs.dimse`.
- :mod:`~chestx.pacs.storescp`   the storage SCP that receives C-MOVE transfers.
- :mod:`~chestx.pacs.query`      study search -> ``studies.csv``; a cohort CSV of queries.
- :mod:`~chestx.pacs.selection`  which series a chest X-ray database takes.
- :mod:`~chestx.pacs.jobstate`   the SQLite state that makes a retrieve resumable.
- :mod:`~chestx.pacs.window`     the night window (``19:00-07:00``).
- :mod:`~chestx.pacs.plan`       listing studies, and the fewest requests for what is missing.
- :mod:`~chestx.pacs.retrieve`   the retrieve job: select, fetch, write, resume, retry
  (its progress bar: :mod:`~chestx.pacs.jobprogress`).
- :mod:`~chestx.pacs.deidentify` PS3.15 basic profile with dicognito; the key kept apart.
- :mod:`~chestx.pacs.sandbox`    a throwaway Orthanc on loopback (tests and demo).

Layer 2: imports :mod:`chestx.data` (the view logic of ingest, SR text) and nothing above.
"""
