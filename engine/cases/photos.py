"""Photos from the public: a copy without EXIF location and camera data, for everyone but the handling staff.

A phone's photo of a pothole carries where it was taken (GPS), when, and the phone's make,
model and serial number in its EXIF block, and often more in XMP. The copy petiflow shows is
decoded and written again with none of it: only the pixels (turned upright as the EXIF
orientation said) and the colour profile. JPEG keeps its quantisation tables when no turn is
needed, so the copy looks like the original. GIF carries no EXIF and is kept as it came.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import InvalidInput

#: The photo kinds the public mailbox takes (as sniffed from the content), and Pillow's name for each.
PUBLIC_PHOTO_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}

#: The most pixels a photo may have: a 48-megapixel phone camera's, with room; more is refused
#: before it is decoded (a small file can claim a huge image and exhaust memory).
MAX_PIXELS = 64_000_000


#: The EXIF tag saying which way up the camera was held.
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class CleanPhoto:
    """The copy to show (bytes), and whether it differs from the file as it came."""

    content: bytes
    changed: bool


def strip_metadata(content: bytes, media_type: str) -> CleanPhoto:
    """The photo without EXIF, XMP, IPTC or comments; raises InvalidInput for a kind the mailbox
    does not take or an image that cannot be decoded or is too large."""
    kind = PUBLIC_PHOTO_TYPES.get(media_type)
    if kind is None:
        raise InvalidInput(f"the mailbox takes photos as JPEG, PNG, WebP or GIF, not {media_type}",
                           details={"fields": {"photos": ["JPEG, PNG, WebP or GIF only"]}})
    if kind == "GIF":
        return CleanPhoto(content, False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[kind]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise InvalidInput(f"the photo has {image.width}×{image.height} pixels, more than the "
                                       f"{MAX_PIXELS // 1_000_000} million a photo may have",
                                       details={"fields": {"photos": ["too many pixels"]}})
                return CleanPhoto(_rewritten(image, kind), True)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise InvalidInput("the photo cannot be read: the file is damaged or not a complete image",
                           details={"fields": {"photos": ["damaged image"]}}) from None


def _rewritten(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    icc = image.info.get("icc_profile")
    turned = image.getexif().get(_ORIENTATION, 1) not in (0, 1)
    upright = ImageOps.exif_transpose(image) if turned else image
    options = {"icc_profile": icc} if icc else {}
    if kind == "JPEG":
        if not turned:
            image.save(out, "JPEG", quality="keep", **options)
        else:
            upright.save(out, "JPEG", quality=90, **options)
    elif kind == "PNG":
        upright.save(out, "PNG", **options)
    else:
        upright.save(out, "WEBP", lossless=image.info.get("lossless", False), quality=90, **options)
    return out.getvalue()
