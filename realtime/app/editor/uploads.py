"""Checking uploaded photos before anything decodes them in full.

An upload is accepted only when all of these hold: its declared content type is an image type we
read, its bytes are really an image of an allowed format (sniffed by Pillow from the header, not
trusted from the file name), its pixel count is below a limit (read from the header, so a small
file that would decompress into a huge bitmap is refused before decoding), and OpenCV decodes it.
Decoded images are BGR uint8 HxWx3, scaled down so the longer side is at most ``max_side`` pixels.
"""
from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

import numpy as np

from realtime.errors import InputError

log = logging.getLogger(__name__)

#: Declared content types an upload may carry.
ALLOWED_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/bmp", "image/x-ms-bmp"})
#: Pillow format names an upload's bytes may have.
ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP"})


class UploadError(InputError):
    """A refused upload; ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UploadLimits:
    """max_pixels: largest width*height accepted (header); max_side: longer side after scaling (px)."""

    max_pixels: int = 40_000_000
    max_side: int = 1280
    min_side: int = 32


@dataclass(frozen=True)
class DecodedImage:
    """An accepted upload: BGR uint8 image, content id, and how much it was scaled (1.0 = not)."""

    bgr: np.ndarray
    image_id: str
    scale: float
    source_format: str


def check_content_type(content_type: str | None) -> None:
    """Refuse a part whose declared type is not an image type we read (HTTP 415)."""
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct not in ALLOWED_CONTENT_TYPES:
        raise UploadError(
            f"expected a JPEG, PNG, WebP or BMP photo, got content type {ct or '(none)'!r}; "
            "choose an image file", status=415)


def decode_upload(data: bytes, limits: UploadLimits = UploadLimits()) -> DecodedImage:
    """Sniff, bound and decode an uploaded image (see module docstring); UploadError when refused."""
    import cv2
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise UploadError("the uploaded file is empty; expected a JPEG, PNG, WebP or BMP photo")
    try:
        with Image.open(io.BytesIO(data)) as im:   # reads the header only
            fmt, (w, h) = im.format, im.size
    except Image.DecompressionBombError:
        raise UploadError(f"the image declares too many pixels (over {Image.MAX_IMAGE_PIXELS * 2 / 1e6:.0f} "
                          "megapixels): refused before decoding; scale it down first", status=413) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise UploadError(f"the uploaded file is not a readable image ({e.__class__.__name__}); "
                          "expected a JPEG, PNG, WebP or BMP photo") from None
    if fmt not in ALLOWED_FORMATS:
        raise UploadError(f"expected a JPEG, PNG, WebP or BMP photo, got a {fmt} image; convert it first",
                          status=415)
    if w * h > limits.max_pixels:
        raise UploadError(f"image of {w}x{h} pixels is too large: at most {limits.max_pixels / 1e6:.0f} "
                          "megapixels; scale it down first", status=413)
    if min(w, h) < limits.min_side:
        raise UploadError(f"image of {w}x{h} pixels is too small: expected at least "
                          f"{limits.min_side} px on each side")
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UploadError(f"the uploaded {fmt} file is damaged and cannot be decoded; "
                          "expected a complete JPEG, PNG, WebP or BMP photo")
    scale = 1.0
    longest = max(bgr.shape[:2])
    if longest > limits.max_side:
        scale = limits.max_side / longest
        size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        log.info("scaled a %dx%d upload to %dx%d", w, h, size[0], size[1])
    bgr = np.ascontiguousarray(bgr)
    digest = hashlib.sha256(f"{bgr.shape}".encode())
    digest.update(bgr.tobytes())
    image_id = digest.hexdigest()[:32]
    return DecodedImage(bgr=bgr, image_id=image_id, scale=scale, source_format=fmt)
