set -e
cd "$(dirname "$0")/../../.."
D=docs/benchmarks/2026-11-27-int8
.venv/bin/python -m loadtest.inprocess.quality --modes none fp16-weights int8-dynamic --prompts 16 --batch-check \
 --json $D/quality.json 2>&1 | grep '^{'
for round in 1 2; do
 for c in "1 2" "32 32"; do set -- $c
  for mode in fp16-weights int8-dynamic none; do
   out=$D/engine_${mode}_c$1_r$round.json
   LLMJOBS_QUANTIZATION=$mode .venv/bin/python -m loadtest.inprocess.engine_bench --engine batching --concurrency $1 --requests $2 \
    --max-tokens 64 --json $out > /dev/null 2>&1
   echo "round $round mode $mode c $1: $(.venv/bin/python -c "import json,sys; d=json.load(open(sys.argv[1]))
print({k: v for k, v in d.items() if 'tok' in k or 'mb' in k.lower()})" $out)"
  done
 done
done
