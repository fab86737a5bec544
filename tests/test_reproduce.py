"""The executor: skip when up to date, resume after a failure, --force, clear failures, bad input
refused before any work, atomic writes and no stale result."""
import errno
import json
from pathlib import Path

import nbformat
import pytest

from adrec import profiles, reproduce


NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def make_notebook(path, body="x = n * 2", params=""):
    """A tiny notebook sized by the "smoke" profile; ``params``: more lines of its parameters cell."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "quick"\nseed = 0\ndevice = "auto"\n' + params)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(f'import adrec.run\nrun = adrec.run.start("{path.stem}", settings_from="smoke", profile=profile, seed=seed, device=device)\nn = run.settings["n"]'),
        nbformat.v4.new_code_cell(body),
        nbformat.v4.new_code_cell('run.record({"x": x, "n": n})'),
    ]
    nb.metadata["kernelspec"] = {"name": "adrec", "display_name": "adrec", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture(autouse=True)
def _no_threads_variable(monkeypatch):
    """reproduce.main exports ADREC_THREADS; the test starts without it and ends as it began."""
    monkeypatch.setenv("ADREC_THREADS", "0")  # records the value to restore
    monkeypatch.delenv("ADREC_THREADS")


@pytest.fixture
def nbdir(tmp_path, monkeypatch):
    # a fixed code digest: the skip logic is tested against notebook and parameter changes here,
    # and against a change of adrec's code in test_changed_adrec_code_reruns.
    monkeypatch.setattr(reproduce, "code_digest", lambda: "adrec-code-v1")
    d = tmp_path / "notebooks"
    d.mkdir()
    make_notebook(d / "01_first.ipynb")
    make_notebook(d / "02_second.ipynb", body="x = n + 1")
    return d


def metrics(tmp_path, stem, profile="quick"):
    return json.loads((tmp_path / "results" / profile / stem / "metrics.json").read_text())


def test_run_then_skip_then_force(nbdir, tmp_path, capsys):
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "[done] 01_first" in out and "[done] 02_second" in out
    m = metrics(tmp_path, "01_first")
    assert m["x"] == 20 and m["provenance"]["profile"] == "quick" and m["provenance"]["device"] == "cpu"
    assert (tmp_path / "results" / "quick" / "01_first" / "01_first.ipynb").exists()
    assert "01_first" in out.split("paper:")[1] and "20" in out  # the final metrics table

    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "[run ]" not in out and "nothing to do: all 2 notebook(s) are up to date" in out

    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "02", "--force"]) == 0
    out = capsys.readouterr().out
    assert "[done] 02_second" in out and "01_first" not in out.split("paper:")[0]


def test_full_profile_parameters_reach_the_notebook(nbdir, tmp_path):
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--only", "01_first", "--profile", "full",
                           "--device", "cpu"]) == 0
    assert metrics(tmp_path, "01_first", "full")["n"] == 1000


def test_failure_stops_with_notebook_cell_and_error_then_resumes(nbdir, tmp_path, capsys):
    make_notebook(nbdir / "02_second.ipynb", body="raise ValueError('deliberate failure')")
    make_notebook(nbdir / "03_third.ipynb")
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert "notebook 02_second.ipynb failed in cell 2 (counting from 0; it starts `raise ValueError(" in captured.err
    assert "ValueError: deliberate failure" in captured.err
    assert (tmp_path / "results" / "quick" / "01_first" / "stamp.json").exists()  # kept
    assert not (tmp_path / "results" / "quick" / "03_third").exists()  # never started

    make_notebook(nbdir / "02_second.ipynb", body="x = 5")  # fixed
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "[skip] 01_first" in out and "[done] 02_second" in out and "[done] 03_third" in out
    assert metrics(tmp_path, "02_second")["x"] == 5


def test_changed_notebook_reruns_alone(nbdir, capsys):
    reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"])
    capsys.readouterr()
    make_notebook(nbdir / "01_first.ipynb", body="x = n * 3")
    reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"])
    out = capsys.readouterr().out
    assert "[done] 01_first" in out and "[skip] 02_second" in out


def test_bad_arguments_are_refused_before_work(nbdir, capsys):
    with pytest.raises(SystemExit):
        reproduce.main(["--notebooks-dir", str(nbdir), "--profile", "huge"])
    assert "unknown profile 'huge'" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="matches no notebook"):
        reproduce.main(["--notebooks-dir", str(nbdir), "--only", "07"])


def test_changed_adrec_code_reruns(nbdir, monkeypatch, capsys):
    reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01"])
    monkeypatch.setattr(reproduce, "code_digest", lambda: "adrec-code-v2")
    capsys.readouterr()
    reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01"])
    assert "[done] 01_first" in capsys.readouterr().out


def test_code_digest_covers_the_package_sources():
    digest = reproduce.code_digest()
    assert len(digest) == 64 and digest == reproduce.code_digest()


def test_param_option_reaches_the_notebook_and_bad_ones_are_refused(nbdir, tmp_path, capsys):
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01"]) == 0
    make_notebook(nbdir / "04_param.ipynb", body="x = n * factor", params="factor = 1")
    # -p factor goes to the notebook whose parameters cell has it; the other stays up to date
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01", "04",
                           "-p", "factor=3"]) == 0
    out = capsys.readouterr().out
    assert "[skip] 01_first" in out and "[run ] 04_param (quick profile, device cpu, 2 threads, factor=3)" in out
    assert metrics(tmp_path, "04_param")["x"] == 30
    assert reproduce._parse_param("keras_models=[]") == ("keras_models", [])
    assert reproduce._parse_param("name=amazon-games") == ("name", "amazon-games")
    for bad in ("factor", "profile=full", "2x=1"):
        with pytest.raises(SystemExit):
            reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "-p", bad])
        assert "bad --param" in capsys.readouterr().err


def test_git_commit_is_dirty_for_source_changes_only(tmp_path, monkeypatch):
    """A run's own outputs (executed notebooks, results, figures) do not mark its commit dirty; a
    changed source file does."""
    import subprocess

    from adrec import paths, run

    git = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    for name in ("adrec/model.py", "notebooks/05.ipynb", "results/quick/m.json", "figures/f.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("0\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(paths, "project_root", lambda: tmp_path)
    head = git("rev-parse", "HEAD").stdout.decode().strip()
    for name in ("notebooks/05.ipynb", "results/quick/m.json", "figures/f.png"):
        (tmp_path / name).write_text("1\n")
    assert run.git_commit() == head
    (tmp_path / "adrec/model.py").write_text("1\n")
    assert run.git_commit() == head + "-dirty"
    # a run keeps the commit it started from, even when the tree moves on before it records
    r = run.Run(notebook="n", profile="quick", seed=0, device="cpu", settings={}, environment={})
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "next")
    assert r.commit == head + "-dirty" and run.git_commit() not in (head, head + "-dirty")


def test_git_commit_without_history_is_the_senders(tmp_path, monkeypatch):
    """A copy of the working tree with no .git (what a GPU machine receives) records the commit the
    sender put in ADREC_GIT_COMMIT, and nothing when none was set; a real checkout ignores it."""
    from adrec import paths, run

    real_root = paths.project_root()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # no repository above tmp_path
    monkeypatch.setattr(paths, "project_root", lambda: tmp_path)
    monkeypatch.delenv("ADREC_GIT_COMMIT", raising=False)
    assert run.git_commit() is None
    monkeypatch.setenv("ADREC_GIT_COMMIT", "0123abc")
    assert run.git_commit() == "0123abc"
    monkeypatch.delenv("GIT_CEILING_DIRECTORIES")
    monkeypatch.setattr(paths, "project_root", lambda: real_root)
    assert run.git_commit() not in (None, "0123abc")


def test_unknown_param_is_one_error_naming_notebooks_and_their_parameters(nbdir, tmp_path, capsys):
    make_notebook(nbdir / "04_param.ipynb", body="x = n * factor", params="factor = 1")
    with pytest.raises(SystemExit):
        reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "-p", "factr=3"])
    err = capsys.readouterr().err
    assert "-p factr: no notebook of this run has a parameter of that name" in err
    assert "01_first: seed\n" in err and "04_param: seed, factor" in err
    with pytest.raises(SystemExit):  # a notebook of the run must have it: 04 is not in this run
        reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01", "-p", "factor=3"])
    assert "-p factor:" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()  # refused before any notebook ran


def test_real_notebooks_take_their_parameters_and_refuse_typos_and_bad_values():
    only_05 = reproduce.notebooks(NOTEBOOKS, ["05"])
    routed = reproduce.route_parameters(only_05, {"keras_models": []}, "full")
    assert list(routed.values()) == [{"keras_models": []}]
    everyone = reproduce.route_parameters(reproduce.notebooks(NOTEBOOKS), {"keras_models": []}, "quick")
    assert sorted(nb.stem for nb, given in everyone.items() if given) == [
        "02_dot_product_scoring", "05_sequence_models"]
    with pytest.raises(ValueError, match=r"-p keras_model: .*\n  05_sequence_models: seed, .*keras_models"):
        reproduce.route_parameters(only_05, {"keras_model": []}, "full")
    # a setting of the table that the parameters cell does not pass on would be ignored: refused
    with pytest.raises(ValueError, match="lr: a setting of its profile table that its parameters cell"):
        reproduce.route_parameters(only_05, {"lr": 0.1}, "quick")
    with pytest.raises(profiles.ProfileError, match="05_sequence_models: setting epochs='10' .*expected an int"):
        reproduce.route_parameters(only_05, {"epochs": "10"}, "quick")


def test_unwritable_results_folder_is_one_error_before_work(nbdir, tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    monkeypatch.setenv("ADREC_RESULTS_DIR", str(blocker / "results"))
    with pytest.raises(SystemExit) as exc:
        reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"])
    assert str(exc.value) == (f"cannot write results to {blocker / 'results' / 'quick'}: Not a directory; "
                              f"make it writable, or set ADREC_RESULTS_DIR to a writable folder.")


def fake_previous_run(tmp_path, stem):
    out = tmp_path / "results" / "quick" / stem
    out.mkdir(parents=True)
    (out / "metrics.json").write_text('{"x": -1}\n')
    (out / f"{stem}.ipynb").write_text("{}\n")
    (out / "stamp.json").write_text('{"key": "old"}\n')
    return out


def test_full_disk_while_writing_is_one_message_and_leaves_no_partial_file(nbdir, tmp_path, monkeypatch, capsys):
    import papermill

    out = fake_previous_run(tmp_path, "01_first")

    def disk_full(notebook, output, **kwargs):
        Path(output).write_text('{"cells": [')  # papermill got part of the way
        raise OSError(errno.ENOSPC, "No space left on device", output)

    monkeypatch.setattr(papermill, "execute_notebook", disk_full)
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01"]) == 1
    err = capsys.readouterr().err
    assert "STOPPED: notebook 01_first.ipynb: [Errno 28] No space left on device" in err
    assert "ADREC_RESULTS_DIR" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["01_first.ipynb.stale", "metrics.json.stale"]


def test_failed_force_rerun_leaves_no_current_metrics_and_keeps_the_paper(nbdir, tmp_path, capsys):
    out = tmp_path / "results" / "quick" / "01_first"
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01"]) == 0
    capsys.readouterr()
    make_notebook(nbdir / "01_first.ipynb", body="raise ValueError('deliberate failure')")
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01", "--force"]) == 1
    assert "paper:" not in capsys.readouterr().out  # not re-rendered after a failure
    assert not (out / "metrics.json").exists() and not (out / "stamp.json").exists()
    assert json.loads((out / "metrics.json.stale").read_text())["x"] == 20  # the last good run, set aside
    assert "deliberate failure" in (out / "01_first.ipynb").read_text()  # the failing copy, whole
    assert not list(out.glob(".01_first.*"))  # no temporary file left

    make_notebook(nbdir / "01_first.ipynb", body="x = 7")
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01"]) == 0
    assert metrics(tmp_path, "01_first")["x"] == 7 and not list(out.glob("*.stale"))


def test_threads_reach_the_kernel_and_the_run_key(nbdir, tmp_path, monkeypatch, capsys):
    make_notebook(nbdir / "01_first.ipynb", body="import os\nx = int(os.environ['ADREC_THREADS'])")
    run_01 = ["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01"]
    monkeypatch.setenv("ADREC_THREADS", "3")  # the default when --threads is not given
    assert reproduce.main(run_01) == 0 and metrics(tmp_path, "01_first")["x"] == 3
    stamp = json.loads((tmp_path / "results" / "quick" / "01_first" / "stamp.json").read_text())
    assert stamp["threads"] == 3
    capsys.readouterr()
    assert reproduce.main([*run_01, "--threads", "3"]) == 0
    assert "[skip] 01_first" in capsys.readouterr().out
    assert reproduce.main([*run_01, "--threads", "1"]) == 0  # another thread count is not up to date
    assert "[done] 01_first" in capsys.readouterr().out and metrics(tmp_path, "01_first")["x"] == 1


def test_bad_thread_counts_are_refused(nbdir, monkeypatch, capsys):
    for argv in (["--threads", "0"], ["--threads", "two"]):
        with pytest.raises(SystemExit):
            reproduce.main(["--notebooks-dir", str(nbdir), *argv])
        assert "is not a whole number >= 1" in capsys.readouterr().err
    monkeypatch.setenv("ADREC_THREADS", "-1")
    with pytest.raises(SystemExit):
        reproduce.main(["--notebooks-dir", str(nbdir)])
    assert "argument --threads: '-1' is not a whole number >= 1" in capsys.readouterr().err
