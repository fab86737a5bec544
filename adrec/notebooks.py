"""Notebook housekeeping: the jupytext pairs and refreshing committed outputs.

Every ``notebooks/NN_topic.ipynb`` has a paired ``notebooks/NN_topic.py`` (jupytext py:percent),
the form to review and edit. ``python -m adrec.notebooks build NN_topic`` writes the ``.ipynb``
from the ``.py`` and executes it in place with the quick profile, so the committed notebook carries
the outputs nbval compares against. ``python -m adrec.notebooks check`` fails when a pair drifts.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import paths

KERNEL = "adrec"


def notebooks_dir() -> Path:
    return paths.project_root() / "notebooks"


def notebook_paths() -> list[Path]:
    return sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


def _sources(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def drift(ipynb: Path) -> str | None:
    """None when ``ipynb`` and its ``.py`` twin hold the same cells, else a description."""
    import jupytext

    py = ipynb.with_suffix(".py")
    if not py.exists():
        return f"{ipynb.name}: no paired {py.name} (run: python -m adrec.notebooks build {ipynb.stem})"
    a, b = _sources(jupytext.read(ipynb)), _sources(jupytext.read(py))
    if a == b:
        return None
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"{ipynb.name} and {py.name} differ at cell {i}:\n  ipynb: {x[1][:120]!r}\n  py:    {y[1][:120]!r}"
    return f"{ipynb.name} has {len(a)} cells, {py.name} has {len(b)}"


def build(stem: str, execute: bool = True, timeout: int = 1800) -> Path:
    """Write ``<stem>.ipynb`` from ``<stem>.py`` and execute it in place (quick profile)."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    py = notebooks_dir() / f"{stem}.py"
    nb = jupytext.read(py)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "adrec (Python 3.11)", "language": "python"}
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    nb.metadata["jupytext"].pop("text_representation", None)
    target = py.with_suffix(".ipynb")
    if execute:
        NotebookClient(nb, timeout=timeout, kernel_name=KERNEL,
                       resources={"metadata": {"path": str(notebooks_dir())}}).execute()
    nbformat.write(nb, target)
    print(f"wrote {target}" + (" (executed)" if execute else ""))
    return target


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m adrec.notebooks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write NN_topic.ipynb from NN_topic.py and execute it in place")
    b.add_argument("stems", nargs="+")
    b.add_argument("--no-execute", action="store_true")
    sub.add_parser("check", help="fail when an .ipynb and its .py twin differ")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        for stem in args.stems:
            build(Path(stem).stem, execute=not args.no_execute)
        return 0
    problems = [d for d in map(drift, notebook_paths()) if d]
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
