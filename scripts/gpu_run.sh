#!/usr/bin/env bash
# A prepared GPU session for issue "Digits, not blobs". A lease is 15 minutes, at most 10 per call, and the
# machine's start (a minute or more) counts. The stages run in the order of what matters most, each fitted to what
# is left of the call (DEADLINE seconds after the start): train, eval, tests, then the bench in the time left.
#
#   STAGES="train eval tests" bash scripts/gpu_run.sh   # call 1, ~9 min: the bundled model, its bar, the GPU tests
#   STAGES="bench" DEADLINE=... bash scripts/gpu_run.sh # call 2, in what the lease has left: the GPU benchmarks
#
# DEADLINE must end inside the call: when status's budget_left_s is under 600, give the call that timeout_s and
# DEADLINE=$((timeout_s - 35)); a call killed at its limit brings back only what was packed before.
#
#   train: continue the bundled model's resumable run (RESUME, default assets/checkpoints/ddpm_mnist-state,
#          whose config already runs to step 20,000) on the CUDA-graph fast path with the EMA, saving the state
#          every STATE_EVERY steps, for what the call has left after the evaluation's share; with RESUME=none,
#          a fresh run of the recipe instead, sized by a 300-step probe. TARGET_STEPS beyond the state's last
#          step starts a new warm-up + cosine phase (--lr-restart, RESTART_LR, RESTART_WARMUP);
#   eval:  once the run has reached its last step: the bar (n = 1000, DDPM 1000 steps and DPM-Solver++ 20,
#          with 64-image grids) and the quality curves, each sampled chunk kept in $WORK/eval_cache (not packed):
#          run again, the stage resumes at the first chunk missing, and on the CPU the curves' 1000-step DDPM
#          point reads back the bar's first 512 images (on CUDA the bar's DDPM runs in a CUDA graph: another key);
#   tests: the GPU tests (CUDA graph, graph+compile, host syncs, sampling fast path);
#   bench: the gpu_sampling suite (1000 DDPM steps at batch 8: CUDA graph vs the diffusers loop), then the
#          training suite (the tutorial's loop vs eager, graph and graph+compile, at 128 and larger batches),
#          both written to a copy of BENCHMARKS.md; rows past the call's deadline are skipped.
#
# Everything lands under $OUT: run.log and bundle.tar split into 15 MB parts bundle.partNN (the checkpoint,
# its resume state, logs, grids, json and benchmarks): `cat bundle.part* | tar -x`. A stage that fails is
# logged and the next one still runs.
#
#   GPU_RUN_TINY=1 bash scripts/gpu_run.sh   # the same stages with a tiny budget, on any machine (a CPU test)
#
# On a lent device diffusers is missing: carry its wheels (.whl, see .library/device/README.md; the working tree
# with the committed training state is ~45 MiB, the wheels ~15 MiB, of the 64 MiB a call may carry) and start with
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
#     .whl/*.whl && export PYTHONPATH=/tmp/site || exit; STAGES="train eval tests" bash scripts/gpu_run.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu_run}
TINY=${GPU_RUN_TINY:-0}
STAGES=${STAGES:-train eval tests bench}
DEADLINE=${DEADLINE:-565}  # seconds after the start by which everything must be packed (the call's limit is 600)
EVAL_SECONDS=${EVAL_SECONDS:-150}  # kept for the evaluation when it follows the training
WORK=${WORK:-runs/gpu_work}
BUNDLED_STATE=assets/checkpoints/ddpm_mnist-state
RESUME=${RESUME:-$([ -d "$BUNDLED_STATE" ] && [ "$TINY" != 1 ] && echo "$BUNDLED_STATE" || echo none)}
TARGET_STEPS=${TARGET_STEPS:-} RESTART_LR=${RESTART_LR:-5e-4} RESTART_WARMUP=${RESTART_WARMUP:-200}
mkdir -p "$OUT" "$WORK"
exec > >(tee -a "$OUT/run.log") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
started=$(date +%s)
stamp() { echo "== [$(($(date +%s) - started)) s] $*"; }
left() { echo $((DEADLINE - ($(date +%s) - started))); }
wants() { [[ " $STAGES " == *" $1 "* ]]; }

# the recipe of the bundled model (assets/checkpoints/README.md says why)
BATCH=256 LR=1e-3 WARMUP=500 CLIP=1 STATE_EVERY=1000 EARLY=200 MAX_STEPS=40000 MIN_STEPS=2000
TRAIN_SECONDS=225 PROBE_STEPS=300 N=1000 CURVE_N=512 SAMPLES=16 DDIM=32 SAMPLE_STEPS=1000
REPORT_EVERY=25  # the fast path syncs with the host only at a report (a resumed state may carry the CPU's 1)
export DIFFUSION_BENCH_ROW_SECONDS=${DIFFUSION_BENCH_ROW_SECONDS:-3}
if [ "$TINY" = 1 ]; then
  BATCH=8 WARMUP=1 STATE_EVERY=2 EARLY=2 MAX_STEPS=6 MIN_STEPS=4 PROBE_STEPS=3 N=8 CURVE_N=8 SAMPLES=2 DDIM=2
  SAMPLE_STEPS=3 TRAIN_SECONDS=60 RESTART_WARMUP=1 EVAL_SECONDS=0 REPORT_EVERY=1
  export DIFFUSION_BENCH_ROW_SECONDS=0.1 DIFFUSION_BENCH_BATCH=16 DIFFUSION_BENCH_COMPILE=0
fi
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  DEVICE=cuda GRAPH=--cuda-graph
else
  DEVICE=cpu GRAPH=
fi
stamp "stages: $STAGES; device $DEVICE; resume: $RESUME"
pack() {  # everything but the probe and the eval cache, in parts small enough to come back from the device machine
  tar -cf "$WORK.tar" -C "$WORK" --exclude probe --exclude eval_cache . && rm -f "$OUT"/bundle.part* &&
    split -b 15m -d "$WORK.tar" "$OUT/bundle.part" && rm -f "$WORK.tar" && stamp "packed"
}
[ -f "$WORK/BENCHMARKS.md" ] || cp BENCHMARKS.md "$WORK/BENCHMARKS.md"

# 1. train: continue the saved run, or start the recipe afresh
if wants train; then
  reserve=$(wants eval && echo "$EVAL_SECONDS" || echo 20)
  seconds=$(($(left) - reserve - 40))  # 40 s: start-up, graph capture, the final samples and the pack
  if [ "$seconds" -lt 30 ]; then
    stamp "train skipped: $seconds s left for it"
  elif [ "$RESUME" != none ]; then
    more=()
    if [ -n "$TARGET_STEPS" ]; then
      more=(--steps "$TARGET_STEPS" --lr-restart --lr "$RESTART_LR" --warmup-steps "$RESTART_WARMUP")
    fi
    stamp "train: resume $RESUME for at most $seconds s"
    python3 -m diffusion_core train --resume "$RESUME" "${more[@]}" --device "$DEVICE" $GRAPH \
      --report-every "$REPORT_EVERY" --state-dir "$WORK/ddpm_mnist-state" --seconds "$seconds" --state-every "$STATE_EVERY" \
      --samples "$SAMPLES" --ddpm-sample-steps "$SAMPLE_STEPS" --ddim-samples "$DDIM" --output "$WORK/ddpm_mnist"
    stamp "train exit $?"
  else
    [ "$seconds" -lt "$TRAIN_SECONDS" ] && TRAIN_SECONDS=$seconds
    train=(python3 -m diffusion_core train --model ddpm --batch-size "$BATCH" --lr "$LR" --lr-schedule cosine
           --warmup-steps "$WARMUP" --grad-clip "$CLIP" --ema --fast --seed 0 --device "$DEVICE")
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
    stamp "train: $steps steps ${GRAPH:-eagerly}"
    "${train[@]}" $GRAPH --steps "$steps" --seconds $((TRAIN_SECONDS + 30)) --save-at "$EARLY" \
      --state-every "$STATE_EVERY" --state-dir "$WORK/ddpm_mnist-state" --samples "$SAMPLES" \
      --ddpm-sample-steps "$SAMPLE_STEPS" --ddim-samples "$DDIM" --output "$WORK/ddpm_mnist"
    stamp "train exit $?"
  fi
  pack
fi

# 2. evaluate the run, once it has reached its last step
if wants eval; then
  finished=$(python3 -c "
import json, sys
try:
    state = json.load(open('$WORK/ddpm_mnist-state/state.json'))
    print('yes' if state['step'] >= state['config']['steps'] else f\"no: step {state['step']} of {state['config']['steps']}\")
except (OSError, KeyError, ValueError) as error:
    print(f'no: {error}')
")
  if [ "$finished" != yes ]; then
    stamp "eval skipped: the run is not finished ($finished); the next call continues it"
  else
    stamp "eval --bar"
    bar_steps=$([ "$TINY" = 1 ] && echo --bar-ddpm-steps 5)
    python3 -m diffusion_core eval --bar --grids --n "$N" --device "$DEVICE" --model "$WORK/ddpm_mnist" $bar_steps \
      --bar-output "$WORK/quality_bar.json" --cache "$WORK/eval_cache"
    stamp "eval --bar exit $?"
    stamp "eval curves"
    if [ "$TINY" = 1 ]; then curve_steps=(--steps 5 --ddpm-steps 5); else curve_steps=(--ddpm-steps 50 "1000:$CURVE_N"); fi
    python3 -m diffusion_core eval --n "$CURVE_N" --device "$DEVICE" --model "$WORK/ddpm_mnist" "${curve_steps[@]}" \
      --output "$WORK/quality_curves.json" --cache "$WORK/eval_cache"
    stamp "eval curves exit $?"
  fi
  pack
fi

# 3. the GPU tests
if wants tests && [ "$DEVICE" = cuda ] && [ "$(left)" -lt 60 ]; then
  stamp "gpu tests skipped: $(left) s left"
elif wants tests && [ "$DEVICE" = cuda ]; then
  stamp "gpu tests"
  timeout $(($(left) - 15)) python3 -m pytest -q -p no:cacheprovider tests/test_training_fast.py \
    tests/test_sampling.py tests/test_training_tab.py -k "cuda or graph or host_syncs" 2>&1 | tail -15
  stamp "gpu tests exit ${PIPESTATUS[0]}"
fi

# 4. the benchmarks in what is left of the call: GPU sampling first (short, never measured before), then training
if wants bench; then
  stamp "bench gpu_sampling"
  python3 -m diffusion_core bench --only gpu_sampling --output "$WORK/BENCHMARKS.md"
  stamp "bench gpu_sampling exit $?"
  share=$(($(left) - 30))
  export DIFFUSION_BENCH_DEADLINE=$(($(date +%s) + share))
  stamp "bench training (rows of $DIFFUSION_BENCH_ROW_SECONDS s; later rows skipped after $share s)"
  python3 -m diffusion_core bench --only training --output "$WORK/BENCHMARKS.md"
  stamp "bench training exit $?"
  unset DIFFUSION_BENCH_DEADLINE
  pack
fi
stamp "done"
