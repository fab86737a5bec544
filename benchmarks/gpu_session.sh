#!/usr/bin/env bash
# Issue 4's GPU work as one prepared command for a lent GPU machine (benchmarks/README.md, "On a GPU"):
#   1. the speed benchmarks on the GPU: top-k scoring (with the bandwidth roofline), LightGCN vs
#      torch_geometric (a whole epoch each, and the full evaluation), MF/NeuMF training throughput;
#   2. notebook 04's full runs on Gowalla (MODELS, LightGCN first), in steps of STEP epochs up to
#      EPOCHS: each step resumes the previous step's checkpoint and rewrites the row JSON, and no
#      step starts after DEADLINE_S seconds, so a call that has to stop keeps every finished step;
#      a second call on the same warm machine goes on from the checkpoint left there;
#   3. copies of every JSON written, and the log, into $OUT (what the device tool brings back).
# The machine has PyTorch and torch_geometric but no network, no TensorFlow and no Keras: carry
# .data (the datasets) and .whl (Keras for the Keras-on-torch column), made by benchmarks/gpu_bundle.sh.
#
# Rehearse here, on the CPU, in a few minutes (the quick profile, a few benchmark batches; Keras,
# TensorFlow and git hidden as on that machine; the datasets from ADREC_DATA_MIRROR):
#   benchmarks/gpu_session.sh --rehearse
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--rehearse" ]; then
    hide=$(mktemp -d)
    for mod in keras tensorflow; do echo "raise ImportError('$mod is not on the GPU machine')" >"$hide/$mod.py"; done
    export PYTHONPATH="$hide${PYTHONPATH:+:$PYTHONPATH}" GIT_CEILING_DIRECTORIES="$(dirname "$PWD")" GIT_DIR=/nonexistent
    export DEVICE=cpu PROFILE=quick EPOCHS=4 STEP=2 LIGHTGCN_BATCHES=2 MF_EXAMPLES=60000 WHEELS=0 PY="${PY:-.venv/bin/python}"
    export OUT="${OUT:-build/gpu_rehearsal}"
    export ADREC_RESULTS_DIR="$PWD/build/gpu_rehearsal_results" ADREC_GIT_COMMIT="${ADREC_GIT_COMMIT:-rehearsal}"
    rm -rf "$OUT" "$ADREC_RESULTS_DIR"
fi

: "${DEVICE:=cuda}" "${PROFILE:=full}" "${EPOCHS:=1000}" "${STEP:=100}" "${DEADLINE_S:=480}" "${BENCH:=1}"
: "${LIGHTGCN_BATCHES:=0}" "${MF_EXAMPLES:=300000}" "${WHEELS:=1}"  # 0 batches: a whole epoch
: "${MODELS:=lightgcn gcn}" "${PY:=python3}" "${OUT:=build/gpu_session}"
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_session.log") 2>&1

if [ -d .data ]; then export ADREC_DATA_MIRROR="${ADREC_DATA_MIRROR:-$PWD/.data}"; fi
if [ "$WHEELS" = 1 ] && compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "installing the carried wheels failed"; exit 1; }
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
echo "gpu_session: commit ${ADREC_GIT_COMMIT:-unknown}, $(date -u +%FT%TZ), device $DEVICE, profile $PROFILE," \
     "models '$MODELS', $EPOCHS epochs in steps of $STEP, deadline ${DEADLINE_S}s"
if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; fi

if [ "$BENCH" = 1 ]; then
    bench="${ADREC_RESULTS_DIR:-results}/benchmarks"
    "$PY" benchmarks/topk_scoring.py --device "$DEVICE" --numpy-users 2048 --out "$bench"
    "$PY" benchmarks/lightgcn_vs_pyg.py --device "$DEVICE" --batches "$LIGHTGCN_BATCHES" --out "$bench"
    "$PY" benchmarks/mf_throughput.py --device "$DEVICE" --examples "$MF_EXAMPLES" --out "$bench"
    cp "$bench"/*_"$DEVICE".json "$OUT"/
fi

rows="${ADREC_RESULTS_DIR:-results}/$PROFILE/04_gcn_propagation/rows"
for model in $MODELS; do
    for ((epochs = STEP; epochs <= EPOCHS; epochs += STEP)); do
        if ((SECONDS >= DEADLINE_S)); then
            echo "deadline (${DEADLINE_S}s) passed: $model stops before its step to epoch $epochs"
            break 2
        fi
        "$PY" -m adrec.experiments.lightgcn --model "$model" --seed 0 --profile "$PROFILE" --epochs "$epochs" \
            --device "$DEVICE" || { echo "$model failed at the step to epoch $epochs"; break 2; }
        cp "$rows"/*.json "$OUT"/
    done
done
echo "gpu_session: done after ${SECONDS}s; in $OUT: $(ls "$OUT" | tr '\n' ' ')"
