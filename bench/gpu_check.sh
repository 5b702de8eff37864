#!/usr/bin/env bash
# The GPU check (issue 47): what a lent GPU machine runs, from the repository root, with `.gpukit/` carried
# (`make gpu-kit` builds it here). It ends by itself within GPU_CHECK_BUDGET_S (360 s): each step runs under
# its own limit, and step 3's time guard drops the seeds that would not finish, so the first try returns
# results. Everything lands in $OUT (the device tool's folder that comes back), as each step ends:
#   gpu-check.log                 everything printed, steps 0-4
#   gpu-check.json                each step's figures, rewritten as each step ends
#   reports-gpu-lite0.tar.gz      step 3's reports folder (records, .npz, HTML, logs, memos, both files above),
#                                 split into .part0 .. .part5 (15 MiB each) if larger: at most 8 files in all
# Steps: 0 install the kit into /tmp/site (never torch), print GPU, driver, torch, CUDA, free memory, import
# studylib, list cached pretrained weights (torchvision's ResNet files checked by sha256); 1 determinism
# (one short fit twice, identical?); 2 training img/s host-fed vs device-resident; 3 the study
# (params/gpu-lite0.yaml through `studylib run --executor local`); 4 pack.
#
#   bash bench/gpu_check.sh            # on the lent machine (device tool: command `bash bench/gpu_check.sh`,
#                                      # carry [".gpukit"], timeout_s about 420)
#   bash bench/gpu_check.sh --smoke    # CPU, tiny, generated data: steps 0 (no install) to 4, for CI
#                                      # (tests/test_gpu_kit.py; OUT defaults to a temporary folder)
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1
T0=$(date +%s)
BUDGET_S=${GPU_CHECK_BUDGET_S:-360}
DEADLINE=$((T0 + BUDGET_S))
OUT=${OUT:-$(mktemp -d -t gpu-check-out.XXXXXX)}
mkdir -p "$OUT"
LOG=$OUT/gpu-check.log
SUMMARY=$OUT/gpu-check.json
: >"$LOG"
exec > >(tee -a "$LOG") 2>&1
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1

if ((SMOKE)); then
  PY=${PYTHON:-$([[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3)}
  WORK=$(mktemp -d -t gpu-check-smoke.XXXXXX)
  REPORTS=$WORK/reports/gpu-lite0-smoke
  WORKERS=2
else
  PY=${PYTHON:-python3}
  REPORTS=$REPO/reports/gpu-lite0
  WORKERS=3
fi

elapsed() { echo $(($(date +%s) - T0)); }
left() { echo $((DEADLINE - $(date +%s))); }

# run_step N NAME LIMIT_S CMD...: CMD under `timeout` (LIMIT_S, never past the deadline less RESERVE_S)
RESERVE_S=20
run_step() {
  local n=$1 name=$2 limit=$3
  shift 3
  local room=$(($(left) - RESERVE_S))
  ((limit > room)) && limit=$room
  echo
  echo "=== step $n: $name (at ${SECONDS}s; limit ${limit}s) ==="
  if ((limit < 5)); then
    echo "step $n skipped: no time left"
    return 124
  fi
  local t=$SECONDS
  timeout -k 10 "$limit" "$@"
  local rc=$?
  ((rc == 124 || rc == 137)) && echo "step $n stopped by its time limit (${limit}s)"
  echo "=== step $n: exit $rc in $((SECONDS - t))s ==="
  return $rc
}

echo "gpu-check $( ((SMOKE)) && echo '(smoke: CPU, tiny, generated data)') at $(date -u +%FT%TZ); budget ${BUDGET_S}s; OUT=$OUT"

# --- step 0: the kit, the machine ------------------------------------------------------------------------------
install_kit() {
  local site=/tmp/site
  [[ -d .gpukit/wheels ]] || { echo "no .gpukit/wheels: build the kit with 'make gpu-kit' and carry .gpukit"; return 3; }
  (cd .gpukit && sha256sum --quiet -c SHA256SUMS) || { echo "the kit does not match its SHA256SUMS: rebuild it"; return 3; }
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
    .gpukit/wheels/*.whl || return 3
  # kornia imports kornia_rs (its image file I/O, unused here): the kit's placeholder where the image has none
  python3 -c "import kornia_rs" 2>/dev/null || cp -r .gpukit/site/. "$site"/
  echo "kit installed into $site: $(ls .gpukit/wheels | wc -l) wheels; kit built at $(cat .gpukit/code.json | tr -d '\n ')"
}
if ((SMOKE)); then
  run_step 0 "the machine (smoke: no install)" 60 "$PY" bench/gpu_check.py env --smoke --summary "$SUMMARY"
  STEP0=$?
else
  export -f install_kit
  run_step 0 "install the kit" 90 bash -c install_kit
  STEP0=$?
  export PYTHONPATH=/tmp/site:$REPO${PYTHONPATH:+:$PYTHONPATH}
  export JUPYTER_PATH=/tmp/site/share/jupyter PATH=/tmp/site/bin:$PATH
  if ((STEP0 == 0)); then
    run_step 0 "the machine" 60 "$PY" bench/gpu_check.py env --summary "$SUMMARY"
    STEP0=$?
  fi
fi

# --- steps 1-3 -------------------------------------------------------------------------------------------------
SMOKE_ARG=()
((SMOKE)) && SMOKE_ARG=(--smoke)
if ((STEP0 == 0)); then
  run_step 1 "determinism" 60 "$PY" bench/gpu_check.py determinism "${SMOKE_ARG[@]}" --summary "$SUMMARY"
  run_step 2 "throughput" 75 "$PY" bench/gpu_check.py throughput "${SMOKE_ARG[@]}" --summary "$SUMMARY"
  # the study: until the deadline less what packing needs; the scorecard (where great_tables is) may use 10 s more
  run_step 3 "the study (params/gpu-lite0.yaml)" $(($(left) - RESERVE_S + 15)) \
    "$PY" bench/gpu_check.py study "${SMOKE_ARG[@]}" --summary "$SUMMARY" --out-dir "$REPORTS" \
    --workers "$WORKERS" --deadline $((DEADLINE - RESERVE_S - 10)) --scorecard-s 10
  STEP3=$?
else
  echo "steps 1-3 not run: step 0 failed (exit $STEP0)"
  STEP3=$STEP0
fi

# --- step 4: pack ----------------------------------------------------------------------------------------------
echo
echo "=== step 4: pack (at ${SECONDS}s) ==="
TAR=$OUT/reports-$(basename "$REPORTS").tar.gz
if [[ -d $REPORTS ]]; then
  cp "$LOG" "$SUMMARY" "$REPORTS"/ 2>/dev/null
  tar czf "$TAR" -C "$(dirname "$REPORTS")" --exclude=checkpoints --exclude='*.ipynb' --exclude='*.lock' \
    --exclude='*.ck' --exclude='*.part' --exclude=data "$(basename "$REPORTS")"
  size=$(stat -c %s "$TAR")
  if ((size > 15 * 1024 * 1024)); then
    split -b 15M -d -a 1 "$TAR" "$TAR.part" && rm -f "$TAR"
    parts=$(ls "$TAR".part* | wc -l)
    if ((parts > 6)); then
      echo "the reports are $((size / 1024 / 1024)) MiB: more than 6 parts of 15 MiB; packing records, .npz and logs only"
      rm -f "$TAR".part*
      tar czf "$TAR" -C "$(dirname "$REPORTS")" --exclude=checkpoints --exclude='*.ipynb' --exclude='*.html' \
        --exclude='*.lock' --exclude='*.ck' --exclude='*.part' --exclude=data "$(basename "$REPORTS")"
    fi
  fi
  echo "packed $(basename "$REPORTS") ($((size / 1024)) KiB gzipped): $(cd "$OUT" && ls | tr '\n' ' ')"
  echo "unpack here with: cat $(basename "$TAR")* | tar xzf - -C reports/"
else
  echo "no reports folder $REPORTS (step 3 did not start)"
fi
echo "gpu-check done in $(elapsed)s: step 0 exit $STEP0, step 3 exit $STEP3; files in $OUT: $(ls "$OUT" | wc -l)"
((SMOKE)) && rm -rf "$WORK"
((STEP0 == 0 && STEP3 == 0))
