"""Pull the database from a hospital PACS (paper §2): query, retrieve, de-identify.

- :mod:`~chestx.database.pacs.endpoints`  where the PACS is: a DICOMweb URL or ``AET@HOST:PORT``.
- :mod:`~chestx.database.pacs.wire`       the transport interface, a retrieve request, what arrives.
- :mod:`~chestx.database.pacs.transports` DICOMweb (QIDO-RS / WADO-RS) and DIMSE (C-FIND, C-GET,
  C-MOVE) behind that interface: :mod:`~chestx.database.pacs.dicomweb`,
  :mod:`~chestx.database.pacs.dimse`.
- :mod:`~chestx.database.pacs.storescp`   the storage SCP that receives C-MOVE transfers.
- :mod:`~chestx.database.pacs.query`      study search -> ``studies.csv``; a cohort CSV of queries.
- :mod:`~chestx.database.pacs.selection`  which series a chest X-ray database takes.
- :mod:`~chestx.database.pacs.jobstate`   the SQLite state that makes a retrieve resumable.
- :mod:`~chestx.database.pacs.window`     the night window (``19:00-07:00``).
- :mod:`~chestx.database.pacs.plan`       listing studies, and the fewest requests for what is
  missing.
- :mod:`~chestx.database.pacs.retrieve`   the retrieve job: select, fetch, write, resume, retry
  (its progress bar: :mod:`~chestx.database.pacs.jobprogress`).
- :mod:`~chestx.database.pacs.deidentify` PS3.15 basic profile with dicognito; the key kept apart.
- :mod:`~chestx.database.pacs.sandbox`    a throwaway Orthanc on loopback (tests and demo).

Layer 2: imports :mod:`chestx.data` (the view logic of ingest, SR text) and nothing above.
"""
