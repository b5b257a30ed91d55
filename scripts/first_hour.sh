#!/usr/bin/env bash
# The first hour, timed: from `git clone` to the first hand-off on the sales queue, following
# docs/quickstart.md in a fresh directory, with a fresh HOME and nothing but PATH and LANG set.
#
#   scripts/first_hour.sh [REPOSITORY] [BRANCH]
#
# REPOSITORY defaults to this checkout's origin, BRANCH to main. PORT, AWS_PORT and PAGE_PORT choose the
# stack's ports (8000, 5000, 8080); PIP_NO_CACHE_DIR=1 makes the install download everything, as on a
# machine that never installed these packages. Prints one line per phase and the total; the clone, its
# virtualenv and the stack are removed at the end.
set -euo pipefail

repository=${1:-$(git -C "$(dirname "$0")/.." remote get-url origin)}
branch=${2:-main}
port=${PORT:-8000} aws_port=${AWS_PORT:-5000} page_port=${PAGE_PORT:-8080}
work=$(mktemp -d /tmp/leadflow-first-hour.XXXXXX)
mkdir -p "$work/home"
stack_pid=""

cleanup() {
    if [ -n "$stack_pid" ] && kill -0 "$stack_pid" 2>/dev/null; then
        kill -TERM -- "-$stack_pid" 2>/dev/null || true
        wait "$stack_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# a new user's terminal: no virtualenv, no AWS or Leadflow settings, a fresh HOME
clean=(env -i "PATH=/usr/local/bin:/usr/bin:/bin" "HOME=$work/home" "LANG=C.UTF-8" "TERM=dumb"
       ${PIP_NO_CACHE_DIR:+"PIP_NO_CACHE_DIR=$PIP_NO_CACHE_DIR"} "LEADFLOW_API_KEY=lf_my-local-admin-key")

now() { date +%s.%N; }
start=$(now)
last=$start
phase() {
    local at
    at=$(now)
    printf '%-58s %7.1f s   (%.1f s from git clone)\n' "$1" "$(echo "$at - $last" | bc)" "$(echo "$at - $start" | bc)"
    last=$at
}

echo "machine: $(nproc) cores, $(uname -sm), $(python3 --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
git clone --quiet --branch "$branch" "$repository" "$work/leadflow"
cd "$work/leadflow"
phase "git clone"

"${clean[@]}" make install > "$work/install.log" 2>&1
phase "make install (venv, pip install -r requirements-dev.txt)"

setsid "${clean[@]}" make run PORT="$port" AWS_PORT="$aws_port" PAGE_PORT="$page_port" > "$work/run.log" 2>&1 &
stack_pid=$!
until grep -q "^Ready\." "$work/run.log"; do
    kill -0 "$stack_pid" 2>/dev/null || { cat "$work/run.log"; exit 1; }
    sleep 0.2
done
phase "make run: the stack up, the banner printed"

api="http://127.0.0.1:$port"
"${clean[@]}" .venv/bin/leadflow models validate events/models/b2b_default.json > /dev/null
"${clean[@]}" .venv/bin/leadflow models simulate events/models/b2b_default.json > /dev/null
"${clean[@]}" .venv/bin/leadflow models publish events/models/b2b_default.json > /dev/null
"${clean[@]}" .venv/bin/leadflow rules apply events/rules/mql_default.json > /dev/null
phase "quick start 2: model validated, simulated, published; rule"

"${clean[@]}" curl -sf "$api/v1/forms/landing-demo/submissions" \
    --data-urlencode email=margaret@apollo.example.org --data-urlencode first_name=Margaret \
    --data-urlencode last_name=Hamilton --data-urlencode 'job=Director of Software Engineering' \
    --data-urlencode 'company=Apollo Guidance' --data-urlencode employees=450 \
    --data-urlencode country=US --data-urlencode topic=Pricing --data-urlencode newsletter=on > /dev/null
phase "quick start 3: the landing page's form posted"

"${clean[@]}" .venv/bin/leadflow handoff tail --count 2 --timeout 120 > "$work/handoffs.txt"
phase "quick start 4: both hand-offs read from the sales queue"
sed 's/^/    /' "$work/handoffs.txt"
printf '%-58s %7.1f s\n' "total: git clone to the first hand-off" "$(echo "$(now) - $start" | bc)"
