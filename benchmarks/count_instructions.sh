#!/usr/bin/env bash
# Instructions per request for each stack of bench_hot_path.py, counted by
# valgrind's callgrind: unlike seconds, the count does not move with the
# machine's load. Each stack runs twice, with N and 6N requests, and the
# difference divided by 5N removes the start-up cost.
# Run: bash benchmarks/count_instructions.sh [N]   (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")"
n=${1:-1000}
python=${PYTHON:-python3}

count() {  # stack, requests -> instructions of one whole run
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$python" bench_hot_path.py --only "$1" --requests "$2" --rounds 1 2>&1 \
        | awk '/Collected/ {print $4}'
}

printf '%-32s %12s\n' stack instructions/request
for stack in "asgi bare" "asgi y2w" "asgi starlette session+auth" \
             "wsgi bare" "wsgi y2w"; do
    small=$(count "$stack" "$n")
    large=$(count "$stack" $((6 * n)))
    printf '%-32s %12d\n' "$stack" $(((large - small) / (5 * n)))
done
