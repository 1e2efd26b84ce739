"""Receiving an uploaded image safely: size cap while streaming, type sniffing, decoding.

The size cap is enforced on the bytes as they arrive (the declared ``Content-Length`` is
checked first), so a 200 MB upload is refused after at most ``max_bytes`` have been read,
never buffered whole. The file type comes from the bytes, not from the name or the browser's
claim. Decoding goes through :func:`chestx.data.images.read_gray` from a private temporary
folder that is removed right after.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from starlette.datastructures import UploadFile
from starlette.requests import Request

from chestx.data.images import read_gray
from chestx.errors import ChestxError

#: Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024

#: Suffix used for the temporary copy of each detected kind.
KIND_SUFFIX = {"png": ".png", "jpeg": ".jpg", "dicom": ".dcm"}


class UploadError(Exception):
    """An upload the server refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Upload:
    """The uploaded file's (sanitised) name and its bytes."""

    filename: str
    data: bytes


def too_large(max_bytes: int) -> UploadError:
    return UploadError(413, f"upload too large: the limit is {max_bytes / 2**20:.0f} MB")


def limited_receive(receive: Callable[[], Awaitable[dict]], max_bytes: int
                    ) -> Callable[[], Awaitable[dict]]:
    """Wrap an ASGI ``receive`` so that it raises 413 once more than ``max_bytes`` arrived."""
    received = 0

    async def _receive() -> dict:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise too_large(max_bytes - MULTIPART_OVERHEAD)
        return message

    return _receive


def clean_filename(name: str | None) -> str:
    """The last path component of a client-supplied name, printable, at most 120 characters."""
    name = Path((name or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable())[:120]
    return name or "upload"


async def read_upload(request: Request, max_bytes: int) -> Upload:
    """Read the image from a ``multipart/form-data`` (field ``file``) or raw-body request.

    Raises :class:`UploadError` 413 past ``max_bytes`` (while streaming) and 422 when the
    request carries no file.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD:
        raise too_large(max_bytes)
    limited = Request(request.scope, limited_receive(request.receive,
                                                     max_bytes + MULTIPART_OVERHEAD))
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await limited.form(max_files=1, max_fields=8)
        except UploadError:
            raise
        except Exception as exc:  # malformed multipart body
            raise UploadError(422, f"malformed multipart upload ({exc})") from exc
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            upload = next((v for v in form.values() if isinstance(v, UploadFile)), None)
        if upload is None:
            raise UploadError(422, "no file in the upload: send the image in the form field "
                                   "'file'")
        try:
            data = await upload.read()
        finally:
            await upload.close()
        filename = clean_filename(upload.filename)
    else:
        chunks = [chunk async for chunk in limited.stream()]
        data = b"".join(chunks)
        filename = clean_filename(request.query_params.get("filename"))
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    if not data:
        raise UploadError(422, f"{filename}: the upload is empty")
    return Upload(filename, data)


def sniff_kind(data: bytes, filename: str = "") -> str | None:
    """``"png"``, ``"jpeg"`` or ``"dicom"`` from the file's magic bytes; ``None`` otherwise.

    DICOM is recognised by ``DICM`` at byte 128, or by a ``.dcm`` name for files written
    without the preamble.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[128:132] == b"DICM" or filename.lower().endswith((".dcm", ".dicom")):
        return "dicom"
    return None


def decode_upload(upload: Upload) -> np.ndarray:
    """The upload's pixels as ``uint8 (H, W)``; :class:`UploadError` 415 or 422 otherwise.

    The bytes are written to a private temporary folder (removed on return) because the
    project's one pixel path reads files.
    """
    kind = sniff_kind(upload.data, upload.filename)
    if kind is None:
        raise UploadError(415, f"{upload.filename}: not a PNG, JPEG or DICOM image")
    with tempfile.TemporaryDirectory(prefix="chestx-serve-") as folder:
        path = Path(folder) / f"upload{KIND_SUFFIX[kind]}"
        path.write_bytes(upload.data)
        try:
            return read_gray(path)
        except ChestxError as exc:
            message = str(exc).replace(str(path), upload.filename)
            raise UploadError(422, message) from exc
        except Exception as exc:  # a decoder failing in a way the reader did not foresee
            raise UploadError(422, f"{upload.filename}: cannot decode {kind} image "
                                   f"({type(exc).__name__}: {exc})") from exc
