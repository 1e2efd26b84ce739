"""The FastAPI app behind ``chestx serve``: a JSON API and one static page.

Routes
------
``GET /``                                   the viewer page (static files in ``static/``)
``GET /api/health``                         liveness and the number of results held
``GET /api/model``                          backbone, classes, image size, training summary
``POST /api/predict``                       multipart field ``file`` (or a raw body) -> JSON
``GET /api/results/{id}/image.png``         the decoded image as the model saw it
``GET /api/results/{id}/heatmaps/{k}.png``  finding ``k``'s heatmap, coloured, with alpha

The model is shared read-only by every request; decoding and inference run in worker
threads (see :class:`chestx.inference.Predictor` for the locking), each request with its own
tensors and its own result id.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from chestx import __version__
from chestx.inference import Predictor
from chestx.serve.results import ResultStore, StoredResult, display_image, heatmap_png, png_bytes
from chestx.serve.serve_config import DEFAULT_MAX_UPLOAD_MB
from chestx.serve.uploads import UploadError, decode_upload, read_upload
from chestx.trust.checks import chroma

STATIC_DIR = Path(__file__).with_name("static")

#: Response headers that keep the page self-contained (no third-party scripts, styles, images).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "style-src 'self'; script-src 'self'; object-src 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def page_app(title: str, page: str) -> FastAPI:
    """A FastAPI app that serves ``static/<page>`` at ``/`` and ``static/`` at ``/static``,
    with :data:`SECURITY_HEADERS` on every response. The Swagger/ReDoc pages load their
    scripts from a CDN: off, so nothing needs the internet."""
    app = FastAPI(title=title, version=__version__, docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / page, media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


@dataclass(frozen=True)
class ServeSettings:
    """Limits of one server: upload cap in bytes and how many results stay viewable."""

    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 2**20)
    max_results: int = 64


def create_app(predictor: Predictor, model_info: dict | None = None,
               settings: ServeSettings | None = None, card: str | None = None) -> FastAPI:
    """Build the app around a :class:`Predictor` (usually made with ``boxes_for="all"``).

    ``model_info`` is what ``GET /api/model`` reports (see :func:`chestx.serve.model_info`);
    ``card``: the model card (Markdown) served at ``GET /api/card``.
    """
    settings = settings or ServeSettings()
    store = ResultStore(settings.max_results)
    info = dict(model_info or {})
    info.setdefault("classes", list(predictor.classes))
    info.setdefault("image_size", predictor.image_size)
    info.update(threshold=predictor.threshold, max_upload_bytes=settings.max_upload_bytes,
                trust=predictor.describe(), card_url="api/card" if card else None)

    app = page_app("chestx", "index.html")
    app.state.predictor = predictor
    app.state.store = store

    @app.exception_handler(UploadError)
    async def _upload_error(request: Request, exc: UploadError) -> JSONResponse:
        # Close the connection: an oversize client may still be sending its body.
        headers = {"Connection": "close"} if exc.status == 413 else None
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    @app.get("/api/health")
    async def health() -> dict:
        return {"status": "ok", "version": __version__, "results_held": len(store)}

    @app.get("/api/model")
    async def model() -> dict:
        return info

    @app.get("/api/card")
    async def model_card() -> PlainTextResponse:
        if card is None:
            raise HTTPException(404, "this checkpoint has no model card: run `chestx calibrate`")
        return PlainTextResponse(card, media_type="text/markdown; charset=utf-8")

    @app.post("/api/predict", openapi_extra={"requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
    async def predict(request: Request) -> dict:
        """Multipart field ``file`` (PNG, JPEG or DICOM) -> probabilities, boxes, heatmap URLs."""
        started = time.perf_counter()
        upload = await read_upload(request, settings.max_upload_bytes)
        gray = await run_in_threadpool(decode_upload, upload)
        colour = chroma(io.BytesIO(upload.data))  # the input checks' colour test
        prediction = (await run_in_threadpool(
            predictor.predict_grays, [gray], [upload.filename], None, [colour]))[0]
        result_id = store.add(StoredResult(display_image(gray), prediction.heatmaps,
                                           prediction.classes, prediction.registration))
        base = f"{request.scope.get('root_path', '')}/api/results/{result_id}"
        body = prediction.to_dict()
        del body["image"], body["source"]
        for index, finding in enumerate(body["findings"]):
            finding.update(index=index, heatmap_url=f"{base}/heatmaps/{index}.png")
        body.update(id=result_id, filename=upload.filename, image_url=f"{base}/image.png",
                    elapsed_ms=round(1000 * (time.perf_counter() - started), 1))
        return body

    def _stored(result_id: str) -> StoredResult:
        result = store.get(result_id)
        if result is None:
            raise HTTPException(404, f"result {result_id} not found (expired or never made)")
        return result

    @app.get("/api/results/{result_id}/image.png")
    async def result_image(result_id: str) -> Response:
        data = await run_in_threadpool(png_bytes, _stored(result_id).display)
        return Response(data, media_type="image/png", headers={"Cache-Control": "private"})

    @app.get("/api/results/{result_id}/heatmaps/{index}.png")
    async def result_heatmap(result_id: str, index: int) -> Response:
        result = _stored(result_id)
        if not 0 <= index < len(result.classes):
            raise HTTPException(404, f"no finding {index}: this model has "
                                     f"{len(result.classes)} (0 to {len(result.classes) - 1})")
        data = await run_in_threadpool(heatmap_png, result, index)
        return Response(data, media_type="image/png", headers={"Cache-Control": "private"})

    return app
