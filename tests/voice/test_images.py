"""Camera frames: limits, OCR of real rendered text, a photo without text, the remote vision model."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import pytest
from PIL import Image, ImageDraw, ImageFont

from townsquare.voice import ocr, vision
from townsquare.voice.images import ImageError, load_frame

MB = 1024 * 1024
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def sign(lines: list[str], fmt: str = "JPEG", size=(640, 360), invert: bool = False) -> bytes:
    bg, fg = ((20, 30, 60), (250, 250, 250)) if invert else ((245, 245, 235), (10, 10, 10))
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.truetype(FONT, 48)
    except OSError:
        font = ImageFont.load_default(size=48)
    for i, line in enumerate(lines):
        draw.text((30, 40 + 70 * i), line, fill=fg, font=font)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def photo_without_text(fmt: str = "JPEG") -> bytes:
    image = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def frame(data: bytes):
    return load_frame(data, max_bytes=10 * MB, max_pixels=40_000_000)


needs_tesseract = pytest.mark.skipif(not ocr.available(), reason="tesseract is not installed "
                                     "(apt-get install tesseract-ocr-eng)")


@needs_tesseract
@pytest.mark.parametrize("invert", [False, True])
def test_ocr_reads_a_sign(invert):
    text = ocr.read_text(frame(sign(["OPEN DAILY", "9 AM - 5 PM"], invert=invert)))
    assert "OPEN DAILY" in text.upper()
    assert "5 PM" in text.upper()


@needs_tesseract
def test_a_photo_without_text_reads_nothing():
    assert ocr.read_text(frame(photo_without_text())) == ""


def test_huge_file_is_413():
    with pytest.raises(ImageError) as caught:
        load_frame(b"\xff" * (2 * MB), max_bytes=MB, max_pixels=40_000_000)
    assert caught.value.status == 413


def test_too_many_pixels_is_413():
    out = io.BytesIO()
    Image.new("L", (8000, 6000)).save(out, "PNG")  # a tiny file that unpacks to 48 megapixels
    with pytest.raises(ImageError) as caught:
        load_frame(out.getvalue(), max_bytes=10 * MB, max_pixels=40_000_000)
    assert caught.value.status == 413


@pytest.mark.parametrize("data", [b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_corrupt_image_is_415(data):
    with pytest.raises(ImageError) as caught:
        load_frame(data, max_bytes=10 * MB, max_pixels=40_000_000)
    assert caught.value.status == 415


def test_large_frames_are_scaled_down_for_the_readers():
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 90, 90)).save(out, "JPEG")
    loaded = frame(out.getvalue())
    assert max(loaded.image.size) == 2000 and (loaded.width, loaded.height) == (4000, 3000)


class _VLM(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        _VLM.seen.append(body)
        reply = {"choices": [{"message": {"role": "assistant", "content": "A red sign on a brick wall."}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_vision_sends_an_openai_image_part_and_reads_the_answer():
    server = HTTPServer(("127.0.0.1", 0), _VLM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = SimpleNamespace(vision_base_url=f"http://127.0.0.1:{server.server_port}/v1", vision_model="vlm",
                                   vision_api_key="k", vision_timeout_s=5)
        described = vision.describe(frame(sign(["HELLO"])), "what is this?", settings)
    finally:
        server.shutdown()
    assert described.text == "A red sign on a brick wall." and described.problem is None
    parts = _VLM.seen[-1]["messages"][0]["content"]
    assert parts[1]["type"] == "image_url" and parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_vision_off_unless_configured_and_a_dead_server_is_reported():
    off = SimpleNamespace(vision_base_url="", vision_model="", vision_api_key="", vision_timeout_s=1)
    assert vision.describe(frame(sign(["HI"])), "?", off).text is None
    dead = SimpleNamespace(vision_base_url="http://127.0.0.1:9/v1", vision_model="m", vision_api_key="",
                           vision_timeout_s=1)
    described = vision.describe(frame(sign(["HI"])), "?", dead)
    assert described.text is None and "did not answer" in described.problem
