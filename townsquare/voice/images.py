"""Camera frames: checked (type from the bytes, size, pixel count) and normalised before anyone reads
them. Pillow's decompression-bomb guard is set from the settings, so a small file that unpacks to a
huge image is refused too."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from townsquare.errors import TownsquareError

MAX_SIDE = 2000  # what OCR and the vision model get: larger frames are scaled down first


class ImageError(TownsquareError):
    status = 422
    code = "invalid_image"


@dataclass
class Frame:
    image: object  # PIL.Image.Image, RGB, at most MAX_SIDE on its long side
    data: bytes  # the bytes as sent (kept only when the person opted in, or posted)
    width: int
    height: int

    def jpeg(self, quality: int = 85) -> bytes:
        out = io.BytesIO()
        self.image.save(out, "JPEG", quality=quality)
        return out.getvalue()


def load_frame(data: bytes, *, max_bytes: int, max_pixels: int) -> Frame:
    from PIL import Image

    if not data:
        raise ImageError("the image is empty", code="empty_image")
    if len(data) > max_bytes:
        raise ImageError(f"the image is larger than the {max_bytes // (1024 * 1024)} MB limit",
                         code="image_too_large", status=413)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ("JPEG", "PNG", "WEBP", "GIF", "BMP"):
                raise ImageError("send a JPEG, PNG or WebP image", code="unsupported_image", status=415)
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(f"the image has more than {max_pixels} pixels", code="image_too_large", status=413)
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"the image has more than {max_pixels} pixels", code="image_too_large", status=413)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"the image could not be read (corrupt or unsupported): {str(exc)[:100]}",
                         code="unsupported_image", status=415) from None
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image).convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    return Frame(image, data, width, height)
