"""Distillation: a big model teaches a small one.

* ``rec.py``: the ranker. A wide, deep, long-history unified model (the teacher) teaches a small one
  (the student that serves the feed): losses, training on id files and on the event log, saving.
* ``llm.py``: the language model. A training set of the app's own tasks, LoRA fine-tuning of the
  bundled SmolLM2-135M-Instruct, merge, GGUF export.
* ``card.py``: the model card written next to every distilled checkpoint.
"""
