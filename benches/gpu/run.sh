#!/usr/bin/env bash
# GPU training throughput: podium (ResNet-50, EfficientNet-B0) built with `--features wgpu`
# (CubeCL's WGSL compiler) and `--features vulkan` (its SPIR-V compiler) beside PyTorch
# (channels-last, f32 and AMP) on the same GPU; prints BENCHMARKS.md "GPU" rows with ratios.
# Offline: cargo runs with --offline (crates vendored or already in ~/.cargo), PyTorch must be
# installed already. A few minutes on one NVIDIA GPU with the defaults:
#
#   benches/gpu/run.sh
#
# Settings (environment): SIZE (224), BATCH (64), WARMUP (5), STEPS (20), MODELS
# ("resnet50,efficientnet_b0"), PRECISIONS (podium's, "f32,f16-mixed,bf16-mixed"), BUILDS
# ("wgpu vulkan"), WGPU_DEVICE ("wgpu": wgpu's best adapter), VULKAN_DEVICE ("vulkan"),
# TORCH_DEVICE ("cuda"), PYTHON (python3), NO_TORCH=1 (podium only), RUN_TIMEOUT (seconds per
# podium run, 1200), OUT (target/gpu-bench). The lavapipe smoke test on a CPU:
#
#   SIZE=32 BATCH=2 WARMUP=1 STEPS=2 WGPU_DEVICE=wgpu:cpu TORCH_DEVICE=cpu benches/gpu/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE="${SIZE:-224}" BATCH="${BATCH:-64}" WARMUP="${WARMUP:-5}" STEPS="${STEPS:-20}"
MODELS="${MODELS:-resnet50,efficientnet_b0}" PRECISIONS="${PRECISIONS:-f32,f16-mixed,bf16-mixed}"
BUILDS="${BUILDS:-wgpu vulkan}" WGPU_DEVICE="${WGPU_DEVICE:-wgpu}"
VULKAN_DEVICE="${VULKAN_DEVICE:-vulkan}" TORCH_DEVICE="${TORCH_DEVICE:-cuda}"
PYTHON="${PYTHON:-python3}" RUN_TIMEOUT="${RUN_TIMEOUT:-1200}" OUT="${OUT:-target/gpu-bench}"

fail() { echo "gpu bench: $*" >&2; exit 1; }
command -v cargo >/dev/null 2>&1 || fail "cargo not found (install Rust 1.95+ or put it on PATH)"
command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON not found (set PYTHON=...)"
if [ "${NO_TORCH:-0}" != 1 ]; then
    "$PYTHON" -c 'import torch, torchvision' 2>/dev/null \
        || fail "PyTorch/torchvision not importable by $PYTHON (pip install torch torchvision," \
                "set PYTHON=/path/to/venv/bin/python, or NO_TORCH=1 for podium only)"
    if [ "$TORCH_DEVICE" = cuda ]; then
        "$PYTHON" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null \
            || fail "torch.cuda.is_available() is False (CPU-only torch or no driver);" \
                    "TORCH_DEVICE=cpu to time PyTorch on the CPU"
    fi
fi
gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1 || true)"
[ -n "$gpu" ] || gpu="no nvidia-smi (${WGPU_DEVICE})"
mkdir -p "$OUT"
results="$OUT/results.jsonl"
: >"$results"

# Build both features first, so a build error stops the script before any timing.
declare -A exe
for build in $BUILDS; do
    case "$build" in wgpu | vulkan) ;; *) fail "BUILDS: unknown build $build (wgpu, vulkan)" ;; esac
    echo "== cargo bench --no-run --features $build --bench gpu" >&2
    json="$(cargo bench --offline --no-run --features "$build" --bench gpu \
        --message-format=json-render-diagnostics)" || fail "the --features $build build failed"
    exe[$build]="$(printf '%s\n' "$json" | grep -o '"executable":"[^"]*"' | tail -n1 | cut -d'"' -f4)"
    [ -x "${exe[$build]}" ] || fail "no bench executable found for --features $build"
done

for build in $BUILDS; do
    device="$WGPU_DEVICE"
    [ "$build" = vulkan ] && device="$VULKAN_DEVICE"
    for precision in ${PRECISIONS//,/ }; do
        echo "== podium $build ($device) $precision: $MODELS at ${SIZE}px, batch $BATCH" >&2
        set +e
        timeout "$RUN_TIMEOUT" "${exe[$build]}" --build "$build" --device "$device" \
            --models "$MODELS" --size "$SIZE" --batch "$BATCH" --warmup "$WARMUP" \
            --steps "$STEPS" --precision "$precision" >>"$results" 2>"$OUT/$build-$precision.log"
        rc=$?
        set -e
        if [ "$rc" != 0 ]; then
            tail -n 5 "$OUT/$build-$precision.log" >&2
            reason="exit $rc"
            [ "$rc" -ge 128 ] && reason="killed by signal $((rc - 128))"
            [ "$rc" = 124 ] && reason="timed out after ${RUN_TIMEOUT}s"
            echo "{\"side\":\"failed\",\"build\":\"$build\",\"device\":\"$device\",\"reason\":\"$reason (log: $OUT/$build-$precision.log)\"}" >>"$results"
        fi
    done
done

if [ "${NO_TORCH:-0}" != 1 ]; then
    echo "== PyTorch on $TORCH_DEVICE" >&2
    "$PYTHON" benches/gpu/torch_bench.py --device "$TORCH_DEVICE" --models "$MODELS" \
        --size "$SIZE" --batch "$BATCH" --warmup "$WARMUP" --steps "$STEPS" >>"$results" \
        || fail "benches/gpu/torch_bench.py failed"
fi

echo "== results: $results" >&2
"$PYTHON" benches/gpu/rows.py "$results" --gpu "$gpu" --models "$MODELS"
