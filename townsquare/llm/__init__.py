"""LLM runtime: embedded llama.cpp, remote OpenAI-compatible servers, embeddings, tool calling.

See docs/llm.md. Heavy libraries (llama_cpp, sentence_transformers) are imported lazily.
"""
