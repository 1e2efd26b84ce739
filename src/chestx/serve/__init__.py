"""``chestx serve``: a local web viewer and JSON API around a trained checkpoint.

>>> from chestx.serve import load_app
>>> app = load_app("runs/demo/best.pt")          # a FastAPI app; run it with uvicorn

The app is built in :mod:`chestx.serve.app` (routes), :mod:`chestx.serve.server` (loading a
checkpoint, model summary, uvicorn), :mod:`chestx.serve.results` and
:mod:`chestx.serve.uploads`; this module only names the public entry points.
"""

from chestx.exports import lazy_exports

_EXPORTS = {
    "ServeSettings": "app",
    "create_app": "app",
    "DEFAULT_MAX_UPLOAD_MB": "serve_config",
    "load_app": "server",
    "model_info": "server",
    "run_server": "server",
    "training_summary": "server",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
