"""Hands-free mode: talk to the assistant, hear it answer, show it a photo (docs/voice.md).

``audio`` decodes and checks recordings, ``asr`` turns speech into text, ``tts`` text into speech,
``ocr`` and ``vision`` read and describe photos, ``replies`` answers pending confirmations by voice,
``turns`` runs one hands-free turn through the assistant, ``privacy`` keeps recordings only when the
person opts in, and ``engines`` loads the speech and image models once per process.
"""
