"""Describing a photo with a remote vision-language model (any OpenAI-compatible server: vLLM with
Llama 3.2 Vision, Ollama with llava, ...): the frame goes as an OpenAI image part (a data URL).

No such model ships in a package, so this is off unless ``TOWNSQUARE_VISION_BASE_URL`` and
``TOWNSQUARE_VISION_MODEL`` are set; then a failure of the server is reported in the answer's
``seen`` part and the turn goes on with what OCR read.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import httpx

from townsquare.voice.images import Frame

PROMPT = ("Describe this photo in two short sentences for someone who cannot see it: what is in it, and any "
          "text, logo or landmark that identifies it. Question they asked about it: {question}")


@dataclass
class Description:
    text: str | None
    problem: str | None = None  # why there is no description, when one was asked for


def configured(settings) -> bool:
    return bool(getattr(settings, "vision_base_url", "") and getattr(settings, "vision_model", ""))


def describe(frame: Frame, question: str, settings) -> Description:
    if not configured(settings):
        return Description(None)
    url = settings.vision_base_url.rstrip("/") + "/chat/completions"
    image = "data:image/jpeg;base64," + base64.b64encode(frame.jpeg()).decode()
    body = {"model": settings.vision_model, "max_tokens": 160, "temperature": 0,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": PROMPT.format(question=question[:300] or "(none)")},
                {"type": "image_url", "image_url": {"url": image}}]}]}
    headers = {"Authorization": f"Bearer {settings.vision_api_key}"} if settings.vision_api_key else {}
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=settings.vision_timeout_s)
        response.raise_for_status()
        text = response.json()["choices"][0]["message"]["content"]
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
        return Description(None, f"the vision model did not answer: {str(exc)[:120]}")
    text = " ".join(str(text or "").split())[:1000]
    return Description(text or None, None if text else "the vision model gave an empty description")
