#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image; the zip is in $ROOT/source.
# It makes a virtual environment with the grader in it, from the wheels in the zip (no network needed) or,
# when they do not fit this machine's Python, the same pinned versions from the package index.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="${DLCOURSE_VENV:-$ROOT/venv}"
PYTHON="${DLCOURSE_PYTHON:-python3}"

if ! "$PYTHON" -c "import venv, ensurepip" 2>/dev/null; then
    echo "setup.sh: $PYTHON has no venv module; installing it (apt)"
    apt-get update -q || true
    apt-get install -y -q python3 python3-venv python3-pip
fi
"$PYTHON" -m venv --clear "$VENV"
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input)
if "${PIP[@]}" --no-index --find-links "$SOURCE/wheels" -r "$SOURCE/requirements.txt"; then
    echo "setup.sh: installed the bundled wheels"
else
    echo "setup.sh: the bundled wheels do not fit $("$PYTHON" -V 2>&1) on $(uname -m); installing the pinned" \
         "versions from the package index"
    "${PIP[@]}" --find-links "$SOURCE/wheels" -r "$SOURCE/requirements.txt"
fi
"${PIP[@]}" --no-index --no-deps "$SOURCE"/wheels/dlcourse-*.whl "$SOURCE"/wheels/dlcourse_grader-*.whl
"$VENV/bin/python" -m pip check --disable-pip-version-check

# Students' code runs as the unprivileged user nobody: the kit (hidden suites, reference solutions) and the
# grader's own code are made readable by root only; the Python environment stays readable for the workers.
chmod -R go-rwx "$SOURCE"
chmod -R go-rwx "$("$VENV/bin/python" -c 'import autograder, os; print(os.path.dirname(autograder.__file__))')"

# Self-test: the reference solutions of the bundle's chapters score full marks in this image.
"$VENV/bin/python" -m autograder.gradescope_run --root "$ROOT" --self-test
