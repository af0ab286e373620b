"""LLM runtime: embedded llama.cpp, remote OpenAI-compatible servers, embeddings, tool calling.

See docs/llm.md. Heavy libraries (llama_cpp, sentence_transformers) are imported lazily.
"""

import os

# llama.cpp's OpenMP threads busy-wait between steps by default; on a shared or busy machine that
# starves everyone (measured ~3x slower prompt processing on a loaded 2-core box). Passive waiting
# costs little when the machine is idle. Set before llama_cpp (and its OpenMP runtime) is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
