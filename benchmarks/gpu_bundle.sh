#!/usr/bin/env bash
# What benchmarks/gpu_session.sh needs on a GPU machine that has no network: .data (Gowalla and
# MovieLens-1M from the offline mirror, laid out as the mirror, checked against the registry's
# sha256) and .whl (Keras and the two packages it needs that the machine lacks, for Python 3.12).
# Both folders are git-ignored through .git/info/exclude; name them in the device call's carry.
# Usage: ADREC_DATA_MIRROR=../shared/data benchmarks/gpu_bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ADREC_DATA_MIRROR:?set ADREC_DATA_MIRROR to the offline data mirror (e.g. ../shared/data)}"
PY=${PY:-.venv/bin/python}

for dir in .data .whl; do
    grep -qxF "/$dir/" .git/info/exclude 2>/dev/null || echo "/$dir/" >>.git/info/exclude
done
rm -rf .data .whl
for dataset in gowalla ml-1m-implicit-loo; do
    mkdir -p ".data/$dataset"
    cp "$ADREC_DATA_MIRROR/$dataset"/* ".data/$dataset/"
done
# the same check the data layer makes before it uses a file
ADREC_DATA_MIRROR="$PWD/.data" "$PY" -c "
from pathlib import Path
from adrec.data import registry
for ds in ('gowalla', 'ml-1m-implicit-loo'):
    for f in registry.REGISTRY[ds].files:
        found = registry.fetch(ds, f, download=False)  # raises on a wrong sha256
        assert found.resolve().is_relative_to(Path('.data').resolve()), f'{ds}/{f} was not read from .data: {found}'
print('.data: every file the registry lists is there and matches its sha256')"

pin() { grep -i "^$1==" requirements-lock.txt; }
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl "$(pin keras)" "$(pin namex)" "$(pin optree)"
du -sh .data .whl
