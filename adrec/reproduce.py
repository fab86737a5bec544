"""Run every notebook with papermill, record results, and fill the paper.

    python -m adrec.reproduce                    # quick profile, every notebook in order
    python -m adrec.reproduce --profile full     # paper-size runs (meant for a GPU)
    python -m adrec.reproduce --only 02 --force  # one notebook, even if up to date
    python -m adrec.reproduce --profile full --only 05 -p 'keras_models=[]'  # a notebook parameter
    python -m adrec.reproduce --threads 1        # CPU threads of each kernel (default $ADREC_THREADS, else 2)

Executed copies go to ``results/<profile>/<notebook>/<notebook>.ipynb`` (never over the committed
notebooks), metrics to ``results/<profile>/<notebook>/metrics.json``. A notebook is skipped when it
was already executed with the same cell sources, parameters and adrec code (a stamp records a hash
of the three and the thread count), so an interrupted run keeps the notebooks that finished and a
rerun resumes. A failing notebook stops the run with its name, the cell and the error.

Bad input stops before any notebook runs: a ``-p`` name that no notebook of the run has in its
``parameters`` cell (each ``-p`` goes to the notebooks that have it), a value of the wrong type for
the profile table, a results folder that cannot be written. The executed copy is written to a
temporary file and moved into place, so it is whole or absent. Before a notebook runs, its previous
``metrics.json`` and executed copy are renamed ``*.stale`` and its stamp is removed; a success
deletes the stale files, a failure leaves them (the last good run, never read as current: the
paper and the skip logic read ``metrics.json`` only) and does not re-render the paper.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from . import __version__, paths, profiles

KERNEL = "adrec"


class NotebookFailed(RuntimeError):
    pass


def notebooks(notebooks_dir: Path, only: list[str] | None = None) -> list[Path]:
    found = sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
    if not only:
        return found
    chosen = []
    for name in only:
        stem = Path(name).stem
        match = [nb for nb in found if nb.stem == stem or nb.stem.startswith(stem + "_") or nb.stem[:2] == stem]
        if not match:
            raise SystemExit(f"--only {name!r} matches no notebook in {notebooks_dir}; "
                             f"notebooks: {', '.join(nb.stem for nb in found)}")
        chosen += [nb for nb in match if nb not in chosen]
    return sorted(chosen)


def code_digest() -> str:
    """sha256 over adrec's own source files: a change to the package reruns the notebooks."""
    h = hashlib.sha256(__version__.encode())
    pkg = Path(__file__).resolve().parent
    for path in sorted(pkg.rglob("*.py")):
        h.update(str(path.relative_to(pkg)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def run_key(notebook: Path, parameters: dict, code: str, threads: int) -> str:
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    sources = [[c.cell_type, c.source] for c in nb.cells]
    blob = json.dumps({"sources": sources, "parameters": parameters, "code": code, "threads": threads},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def ensure_kernel() -> None:
    """Register the ``adrec`` kernel for this Python when it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(kernel_name=KERNEL, display_name="adrec (Python 3.11)", prefix=sys.prefix)
        print(f"registered Jupyter kernel {KERNEL!r} for {sys.executable}")


def execute(notebook: Path, output: Path, parameters: dict) -> float:
    """Run ``notebook`` into ``output``, written whole or not at all (a temporary file in the same
    folder, then renamed); a failing cell still leaves the executed copy with its traceback."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.stem}.", suffix=".ipynb")
    os.close(fd)
    partial = Path(name)
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(notebook), str(partial), parameters=parameters, kernel_name=KERNEL,
                            cwd=str(notebook.parent), progress_bar=False, log_output=False)
    except PapermillExecutionError as err:
        os.replace(partial, output)
        import nbformat

        # papermill adds an injected-parameters cell and an error banner cell to the executed copy;
        # name the failing cell by its position in the source notebook and its first line.
        cells = [c for c in nbformat.read(output, as_version=4).cells
                 if not {"injected-parameters", "papermill-error-cell-tag"} & set(c.metadata.get("tags", []))]
        index = next((i for i, c in enumerate(cells) if c.get("execution_count") == err.exec_count), err.cell_index)
        lines = cells[index].source.strip().splitlines() if index < len(cells) else []
        first_line = lines[0][:80] if lines else ""
        raise NotebookFailed(
            f"notebook {notebook.name} failed in cell {index} (counting from 0; "
            f"it starts `{first_line}`): {err.ename}: {err.evalue}\n"
            f"  the executed copy with the traceback is {output}"
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, output)
    return time.perf_counter() - t0


def run_notebook(notebook: Path, out_dir: Path, parameters: dict, stamp: dict) -> float:
    """Execute ``notebook`` into ``out_dir`` and stamp it. The previous metrics.json and executed
    copy are set aside first (``*.stale``) and deleted only after a success, so a failure leaves no
    metrics.json that could be read as this run's."""
    executed, metrics = out_dir / f"{notebook.stem}.ipynb", out_dir / "metrics.json"
    (out_dir / "stamp.json").unlink(missing_ok=True)
    set_aside([metrics, executed])
    seconds = execute(notebook, executed, parameters)
    if not metrics.exists():
        raise NotebookFailed(f"notebook {notebook.name} ran but recorded no metrics "
                             f"(its last cell must call run.record); expected {metrics}")
    (out_dir / "stamp.json").write_text(json.dumps(
        {**stamp, "seconds": round(seconds, 1), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2) + "\n")
    for path in (metrics, executed):
        path.with_name(path.name + ".stale").unlink(missing_ok=True)
    return seconds


def notebook_parameters(notebook: Path) -> list[str]:
    """The names a notebook's ``parameters`` cell defines, but profile and device (own options)."""
    import papermill as pm

    return [name for name in pm.inspect_notebook(str(notebook)) if name not in ("profile", "device")]


def route_parameters(todo: list[Path], extra: dict, profile: str) -> dict[Path, dict]:
    """The ``-p`` values each notebook gets: a name goes to the notebooks whose ``parameters`` cell
    defines it. A name that no notebook of the run defines is a ValueError naming every notebook's
    parameters; a value its profile table refuses is a :class:`profiles.ProfileError`."""
    accepted = {nb: notebook_parameters(nb) for nb in todo}
    unknown = [name for name in extra if not any(name in names for names in accepted.values())]
    if unknown:
        lines = [f"-p {', '.join(unknown)}: no notebook of this run has a parameter of that name; "
                 f"the parameters of each notebook:"]
        for nb, names in accepted.items():
            table = profiles.PROFILES.get(nb.stem, {}).get(profile, {})
            settings_only = [name for name in unknown if name in table]
            note = (f" ({', '.join(settings_only)}: a setting of its profile table that its parameters "
                    f"cell does not define and pass to adrec.run.start; add it there to set it)"
                    if settings_only else "")
            lines.append(f"  {nb.stem}: {', '.join(names) or '(none)'}{note}")
        raise ValueError("\n".join(lines))
    routed = {nb: {k: v for k, v in extra.items() if k in names} for nb, names in accepted.items()}
    for nb, given in routed.items():
        if nb.stem in profiles.PROFILES:
            table = profiles.PROFILES[nb.stem][profile]
            profiles.resolve(nb.stem, profile, **{k: v for k, v in given.items() if k in table})
    return routed


def check_writable(folder: Path) -> None:
    """One clear error when results cannot be written to ``folder``, before any notebook runs."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise SystemExit(f"cannot write results to {folder}: {exc.strerror or exc}; "
                         f"make it writable, or set ADREC_RESULTS_DIR to a writable folder.") from None


def set_aside(paths: list[Path]) -> None:
    """Rename each existing file ``f`` to ``f.stale``: no longer current, kept until a success."""
    for path in paths:
        if path.exists():
            os.replace(path, path.with_name(path.name + ".stale"))


def threads_option(text: str) -> int:
    """``--threads``, checked by :func:`adrec.env.cpu_threads` (the one rule for a thread count)."""
    from .env import cpu_threads

    try:
        return cpu_threads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number >= 1 (from --threads, or ADREC_THREADS when --threads is not given)"
        ) from None


def metrics_table(profile_dir: Path) -> list[tuple[str, str, float]]:
    from .run import flatten

    rows = []
    for path in sorted(profile_dir.glob("*/metrics.json")):
        data = json.loads(path.read_text())
        data.pop("provenance", None)
        rows += [(path.parent.name, k, v) for k, v in flatten(data).items()]
    return rows


def print_table(rows) -> None:
    if not rows:
        print("no metrics recorded yet")
        return
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print(f"{'notebook':<{w1}}  {'metric':<{w2}}  value")
    print(f"{'-' * w1}  {'-' * w2}  {'-' * 10}")
    for nb, key, value in rows:
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{nb:<{w1}}  {key:<{w2}}  {shown}")


def _parse_param(text: str) -> tuple[str, object]:
    """``"epochs=100"`` -> ``("epochs", 100)``; a value that is not a Python literal stays a string."""
    import ast

    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier() or name.strip() in ("profile", "device"):
        raise ValueError(f"bad --param {text!r}: want NAME=VALUE (profile and device have their own options)")
    try:
        return name.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name.strip(), value


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m adrec.reproduce", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="quick", help="quick (CPU, minutes; default) or full (paper-size, GPU)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these notebooks (stem or number, e.g. 02)")
    ap.add_argument("--device", default="auto", help="auto (default: cuda, then mps, then cpu), cuda, mps or cpu")
    ap.add_argument("--force", action="store_true", help="rerun notebooks even when up to date")
    ap.add_argument("--notebooks-dir", type=Path, default=None, help="default: notebooks/ of this checkout")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                    help="a notebook parameter (VALUE a Python literal, else a string), e.g. -p 'keras_models=[]'; "
                         "repeatable; it goes to the notebooks of the run whose parameters cell defines NAME")
    ap.add_argument("--threads", type=threads_option, default=os.environ.get("ADREC_THREADS", "2"), metavar="N",
                    help="CPU threads of each notebook's kernel, exported to it as ADREC_THREADS and part of the "
                         "run key (default: $ADREC_THREADS, else 2)")
    args = ap.parse_args(argv)
    try:
        extra = dict(_parse_param(p) for p in args.param)
    except ValueError as exc:
        ap.error(str(exc))

    if args.profile not in profiles.PROFILE_NAMES:
        ap.error(f"unknown profile {args.profile!r}; choose one of {', '.join(profiles.PROFILE_NAMES)}")
    from .env import pick_device

    try:
        pick_device(args.device)
    except ValueError as exc:
        ap.error(str(exc))

    nb_dir = (args.notebooks_dir or paths.project_root() / "notebooks").resolve()
    todo = notebooks(nb_dir, args.only)
    if not todo:
        print(f"no notebooks in {nb_dir}")
        return 1
    try:
        routed = route_parameters(todo, extra, args.profile)
    except ValueError as exc:  # profiles.ProfileError too
        ap.error(str(exc))
    profile_dir = paths.results_dir() / args.profile
    check_writable(profile_dir)
    code = code_digest()
    ensure_kernel()
    os.environ["ADREC_THREADS"] = str(args.threads)  # the kernels papermill starts inherit it

    ran = skipped = 0
    for nb in todo:
        out_dir = profile_dir / nb.stem
        executed, stamp, metrics = out_dir / f"{nb.stem}.ipynb", out_dir / "stamp.json", out_dir / "metrics.json"
        parameters = {"profile": args.profile, "device": args.device, **routed[nb]}
        key = run_key(nb, parameters, code, args.threads)
        up_to_date = (stamp.exists() and executed.exists() and metrics.exists()
                      and json.loads(stamp.read_text()).get("key") == key)
        if up_to_date and not args.force:
            print(f"[skip] {nb.stem}: up to date ({executed})")
            skipped += 1
            continue
        shown = "".join(f", {k}={v!r}" for k, v in routed[nb].items())
        print(f"[run ] {nb.stem} ({args.profile} profile, device {args.device}, {args.threads} threads{shown}) ...",
              flush=True)
        try:
            seconds = run_notebook(nb, out_dir, parameters, {"key": key, "threads": args.threads})
        except NotebookFailed as exc:
            print(f"\nSTOPPED: {exc}", file=sys.stderr)
            print(f"{ran} notebook(s) finished before it and keep their results; fix and rerun to resume.",
                  file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"\nSTOPPED: notebook {nb.name}: {exc}\n  while running it or writing its results to {out_dir};"
                  f" free space there or make it writable, or set ADREC_RESULTS_DIR to another folder.",
                  file=sys.stderr)
            return 1
        print(f"[done] {nb.stem} in {seconds:.0f} s")
        ran += 1

    if ran == 0:
        print(f"nothing to do: all {skipped} notebook(s) are up to date in {profile_dir} "
              f"(same notebook, parameters and adrec code); use --force to rerun.")
    from . import paper

    changed = paper.write()
    print(f"paper: {changed or 'unchanged'}")
    print()
    print_table(metrics_table(profile_dir))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
