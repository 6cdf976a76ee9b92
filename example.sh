#!/usr/bin/env bash
# The whole pipeline end to end on the embedded default model (SmolLM2-135M-Instruct served by
# llama.cpp on a free loopback port): sample -> grade -> judge -> select. No network, no GPU.
# Re-running continues any stage that was interrupted; finished stages are redone quickly.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
OUT=${OUT:-datasets/runs/toy}
ROWS=${ROWS:-20}
K=${K:-4}
mkdir -p "$OUT"

echo "== 0. problem set (datasets/toy_math.jsonl)"
[ -f datasets/toy_math.jsonl ] || "$PY" generation/toy_problems.py

echo "== 1. generate $K samples per problem with SmolLM2"
"$PY" generation/generate_reasoning_samples.py --model smollm2 --dataset datasets/toy_math.jsonl \
    --output_path "$OUT/samples.hf" --max_rows "$ROWS" --samples_per_instruction "$K" \
    --temperature 0.7 --max_new_tokens 160 --seed 0

echo "== 2. extract and grade answers (rules only: no extractor configured)"
"$PY" generation/unified_evaluation.py --input_path "$OUT/samples.hf" \
    --output_path "$OUT/evaluated.hf" --dataset_type math

echo "== 3. score with the embedded LM judge (verdict value = P(True) from logprobs; unparseable verdicts stay null)"
"$PY" generation/unified_RMs_and_LM_Judges.py --dataset_path "$OUT/evaluated.hf" \
    --output_path "$OUT/scored.hf" --lm_judges smollm2 --verdicts_per_sample 1 --max_new_tokens 8 --batch_size 4 \
    || [ "$?" -eq 1 ]  # exit 1 = some verdicts stay null (a 135M judge); the output is written, selection goes on

echo "== 4. select one answer per problem (label-free weak supervision, half held out)"
"$PY" selection/run.py --config-name weak_supervision data_cfg.dataset_path="$OUT/scored.hf" \
    output_dir="$OUT/selection"
