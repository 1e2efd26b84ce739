"""``chestx serve``: a local web viewer and JSON API around a trained checkpoint.

>>> from chestx.serve import load_app
>>> app = load_app("runs/demo/best.pt")          # a FastAPI app; run it with uvicorn

The app is built in :mod:`chestx.serve.app` (routes), :mod:`chestx.serve.server` (loading a
checkpoint, model summary, uvicorn), :mod:`chestx.serve.results` and
:mod:`chestx.serve.uploads`; this module only names the public entry points.
"""

from chestx.serve.app import DEFAULT_MAX_UPLOAD_MB, ServeSettings, create_app
from chestx.serve.server import load_app, model_info, run_server, training_summary

__all__ = ["DEFAULT_MAX_UPLOAD_MB", "ServeSettings", "create_app", "load_app", "model_info",
           "run_server", "training_summary"]
