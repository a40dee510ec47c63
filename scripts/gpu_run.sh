#!/usr/bin/env bash
# One prepared GPU session for the bundled DDPM model (issue "Digits, not blobs"), in one call:
#   1. probe: 300 steps of the training fast path (CUDA graph; eager if the graph fails), to size the run;
#   2. train: the project's own command, sized to TRAIN_SECONDS, resumable (state every STATE_EVERY steps),
#      with the early checkpoint at step 200 for the Quality lab;
#   3. eval: the bar (n = 1000: DDPM 1000 steps and DPM-Solver++ 20, with 64-image grids) and the curves;
#   4. the training and sampling benchmarks (written to a copy of BENCHMARKS.md), then the GPU tests.
# Everything lands under $OUT: run.log and bundle.tar split into 15 MB parts bundle.partNN (the
# checkpoint, its resume state, logs, grids, json and benchmarks): `cat bundle.part* | tar -x`.
# A step that fails is logged and the next one still runs.
#
#   GPU_RUN_TINY=1 bash scripts/gpu_run.sh   # the same steps with a tiny budget, on any machine (a CPU test)
#   RESUME=runs/ddpm_mnist-state bash scripts/gpu_run.sh   # continue a saved run instead of starting one
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu_run}
TINY=${GPU_RUN_TINY:-0}
TRAIN_SECONDS=${TRAIN_SECONDS:-225}
DEADLINE=${DEADLINE:-565}  # seconds after the start by which everything must be packed (the call's limit is 600)
RESUME=${RESUME:-}
WORK=${WORK:-runs/gpu_work}
mkdir -p "$OUT" "$WORK"
exec > >(tee -a "$OUT/run.log") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
started=$(date +%s)
stamp() { echo "== [$(($(date +%s) - started)) s] $*"; }

# the recipe of the bundled model (assets/checkpoints/README.md says why)
BATCH=256 LR=1e-3 WARMUP=500 CLIP=1 STATE_EVERY=2000 EARLY=200 MAX_STEPS=40000 MIN_STEPS=2000
PROBE_STEPS=300 N=1000 CURVE_N=512 SAMPLES=16 DDIM=32 SAMPLE_STEPS=1000
if [ "$TINY" = 1 ]; then
  BATCH=8 WARMUP=1 STATE_EVERY=2 EARLY=2 MAX_STEPS=6 MIN_STEPS=4 PROBE_STEPS=3 N=8 CURVE_N=8 SAMPLES=2 DDIM=2 SAMPLE_STEPS=3
  TRAIN_SECONDS=60
  export DIFFUSION_BENCH_ROW_SECONDS=0.1 DIFFUSION_BENCH_BATCH=16
fi
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  DEVICE=cuda GRAPH=--cuda-graph
else
  DEVICE=cpu GRAPH=
fi
train=(python3 -m diffusion_core train --model ddpm --batch-size "$BATCH" --lr "$LR" --lr-schedule cosine
       --warmup-steps "$WARMUP" --grad-clip "$CLIP" --ema --fast --seed 0 --device "$DEVICE")

# 1. probe the speed of the fast path at the recipe's batch
stamp "probe"
probe() { "${train[@]}" $1 --steps "$PROBE_STEPS" --samples 0 --ddim-samples 0 --output "$WORK/probe"; }
if ! probe "$GRAPH"; then
  stamp "the CUDA-graph probe failed: training eagerly"
  GRAPH=
  probe "" || stamp "the eager probe failed too"
fi
steps=$(python3 - "$WORK/probe/training_log.json" "$BATCH" "$TRAIN_SECONDS" "$MIN_STEPS" "$MAX_STEPS" <<'EOF'
import json, sys
log, batch, seconds, low, high = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
try:
    steps_per_second = json.load(open(log))["images_per_second"] / batch
except (OSError, KeyError, ValueError):
    steps_per_second = 0.0
steps = int(steps_per_second * seconds) // 1000 * 1000 or int(steps_per_second * seconds)
print(min(high, max(low, steps)))
EOF
)
stamp "probe done: training $steps steps ${GRAPH:-eagerly}"

# 2. train (the safety stop leaves time for the evaluation if the probe was optimistic)
stamp "train"
if [ -n "$RESUME" ]; then
  python3 -m diffusion_core train --resume "$RESUME" --state-dir "$WORK/ddpm_mnist-state" $GRAPH \
    --seconds $((TRAIN_SECONDS + 30)) --state-every "$STATE_EVERY" --samples "$SAMPLES" \
    --ddpm-sample-steps "$SAMPLE_STEPS" --ddim-samples "$DDIM" --output "$WORK/ddpm_mnist"
else
  "${train[@]}" $GRAPH --steps "$steps" --seconds $((TRAIN_SECONDS + 30)) --save-at "$EARLY" \
    --state-every "$STATE_EVERY" --state-dir "$WORK/ddpm_mnist-state" --samples "$SAMPLES" \
    --ddpm-sample-steps "$SAMPLE_STEPS" --ddim-samples "$DDIM" --output "$WORK/ddpm_mnist"
fi
stamp "train exit $?"
pack() {  # everything but the probe, in parts small enough to come back from the device machine
  tar -cf "$WORK.tar" -C "$WORK" --exclude probe . && rm -f "$OUT"/bundle.part* &&
    split -b 15m -d "$WORK.tar" "$OUT/bundle.part" && rm -f "$WORK.tar"
}
pack && stamp "packed"

# 3. evaluate the new checkpoint
stamp "eval --bar"
bar_steps=$([ "$TINY" = 1 ] && echo --bar-ddpm-steps 5)
python3 -m diffusion_core eval --bar --grids --n "$N" --device "$DEVICE" --model "$WORK/ddpm_mnist" $bar_steps \
  --bar-output "$WORK/quality_bar.json"
stamp "eval --bar exit $?"
stamp "eval curves"
if [ "$TINY" = 1 ]; then curve_steps=(--steps 5 --ddpm-steps 5); else curve_steps=(--ddpm-steps 50 "1000:$CURVE_N"); fi
python3 -m diffusion_core eval --n "$CURVE_N" --device "$DEVICE" --model "$WORK/ddpm_mnist" "${curve_steps[@]}" \
  --output "$WORK/quality_curves.json"
stamp "eval curves exit $?"
pack

# 4. the benchmarks, then the GPU tests (whatever a deadline cuts, the packed results stay)
stamp "bench training"
cp BENCHMARKS.md "$WORK/BENCHMARKS.md"
if [ "$TINY" != 1 ]; then  # 10 rows and 4 profiles: fit the rows into the time left, keeping 60 s for the rest
  left=$((DEADLINE - ($(date +%s) - started) - 60))
  export DIFFUSION_BENCH_ROW_SECONDS=$(python3 -c "print(round(max(2.0, min(10.0, $left / 10 - 3)), 1))")
  stamp "training bench rows of $DIFFUSION_BENCH_ROW_SECONDS s"
fi
quick=$([ "$TINY" = 1 ] && echo --quick)
python3 -m diffusion_core bench --only training $quick --output "$WORK/BENCHMARKS.md"
stamp "bench training exit $?"
pack
stamp "bench sampling"
python3 -m diffusion_core bench --only sampling --quick --output "$WORK/BENCHMARKS.md"
stamp "bench sampling exit $?"
pack
if [ "$DEVICE" = cuda ]; then
  stamp "gpu tests"
  python3 -m pytest -q -p no:cacheprovider tests/test_training_fast.py tests/test_sampling.py \
    -k "cuda or graph or host_syncs" 2>&1 | tail -15
fi
stamp "done"
