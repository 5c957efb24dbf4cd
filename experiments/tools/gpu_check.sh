#!/usr/bin/env bash
# GPU readiness check on one GPU (or TPU), under 8 minutes: jax.devices(); ofa_mbv3 training
# throughput at 224 px (sandwich step and largest static subnet: img/s, XLA's FLOP/s as a share
# of the device's peak); the streaming JPEG pipeline's img/s; a 300-step cifar_mbv3 training on
# generated data whose loss must fall. Details: experiments/benchmarks/gpu_check.py.
#
#   experiments/tools/gpu_check.sh [--tiny] [--batch N] [--resolution R]
#   (--tiny or GPU_CHECK_TINY=1: a CPU-sized smoke run, as tests/test_gpu_check.py does)
#
# Exit status: 0 when every part ran and the loss fell; 1 when the loss did not fall; 2 when JAX
# finds no accelerator (without --tiny); any other failure exits non-zero with its traceback.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3 )}
exec "$PYTHON" -m experiments.benchmarks.gpu_check "$@"
