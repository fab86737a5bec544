"""The paper shows exactly the numbers the committed results hold."""
import json

import pytest

from adrec import paper, paths


def test_committed_paper_matches_committed_results(monkeypatch):
    monkeypatch.delenv("ADREC_RESULTS_DIR")
    template, _ = paper.paper_paths()
    committed = paths.project_root() / "paper" / "adrec.md"
    expected = paper.render(template.read_text(encoding="utf-8"), paths.project_root() / "results")
    actual = committed.read_text(encoding="utf-8")
    if actual != expected:
        diff = [f"  paper:   {a}\n  results: {b}" for a, b in zip(actual.splitlines(), expected.splitlines()) if a != b]
        pytest.fail("paper/adrec.md differs from what results/ renders to (run `make reproduce`):\n" + "\n".join(diff[:10]))


def test_render_values_diffs_tables_and_missing(tmp_path):
    d = tmp_path / "quick" / "02_x"
    d.mkdir(parents=True)
    (d / "metrics.json").write_text(json.dumps({"mf": {"hr@10": 0.7316}, "n": 3,
                                                "provenance": {"profile": "quick", "seed": 0}}))
    text = ("a {{value quick/02_x/mf.hr@10|.3f}} b {{diff quick/02_x/mf.hr@10 0.7294}} "
            "c {{value quick/02_x/absent}} d {{value full/02_x/mf.hr@10}} "
            "e {{reldiff quick/02_x/mf.hr@10 0.7294}} f {{reldiff quick/02_x/mf.hr@10 0.8|.0f}}\n{{table quick/02_x}}")
    out = paper.render(text, tmp_path)
    # relative: 0.7316 / 0.7294 - 1 = +0.30 %, 0.7316 / 0.8 - 1 = -8.55 %
    assert out.startswith("a 0.732 b +0.0022 c n/a (not run) d n/a (not run) e +0.3 % f -9 %\n")
    assert "| `mf.hr@10` | 0.7316 |" in out and "| `n` | 3 |" in out


def test_render_reads_one_row_file_of_a_full_run(tmp_path):
    d = tmp_path / "full" / "02_x" / "rows"
    d.mkdir(parents=True)
    (d / "mf_dot_torch_seed0.json").write_text(json.dumps({
        "model": "mf_dot", "metrics": {"hr@10": 0.7301, "epochs": 256},
        "history": [{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.4, "hr@10": 0.61}],
        "provenance": {"profile": "full", "seed": 0, "device_name": "CPU", "wall_time_s": 12.5}}))
    text = ("{{value full/02_x/rows/mf_dot_torch_seed0/hr@10|.3f}} {{diff full/02_x/rows/mf_dot_torch_seed0/hr@10 0.7294}} "
            "{{value full/02_x/rows/mf_dot_torch_seed0/epochs}} {{value full/02_x/rows/gmf_torch_seed0/hr@10}} "
            "{{provenance full/02_x/rows/mf_dot_torch_seed0}}")
    out = paper.render(text, tmp_path)
    assert out.startswith("0.730 +0.0007 256 n/a (not run) full profile, seed 0, CPU,")
    assert out.endswith("12.5 s")
    at = "full/02_x/rows/mf_dot_torch_seed0/at_epoch"  # the history by epoch
    out = paper.render(f"{{{{value {at}.2.hr@10|.2f}}}} {{{{value {at}.1.train_loss}}}} {{{{value {at}.1.hr@10}}}} "
                       f"{{{{value {at}.3.hr@10}}}}", tmp_path)
    assert out == "0.61 0.5000 n/a (not run) n/a (not run)"
    with pytest.raises(ValueError, match="names one number"):
        paper.render(f"{{{{value {at}.2}}}}", tmp_path)
    with pytest.raises(ValueError, match="reldiff needs a published value"):
        paper.render("{{reldiff full/02_x/rows/mf_dot_torch_seed0/hr@10}}", tmp_path)
    with pytest.raises(ValueError, match="rows/STEM"):
        paper.render("{{value full/02_x/rows/}}", tmp_path)


def test_spread_over_seed_rows_by_hand(tmp_path):
    d = tmp_path / "full" / "02_x" / "rows"
    d.mkdir(parents=True)
    for seed, hr in [(0, 0.70), (1, 0.71), (2, 0.73)]:
        (d / f"gmf_torch_seed{seed}.json").write_text(json.dumps({"metrics": {"best_hr@10": hr}}))
    (d / "gmf_torch_seed0_other.json").write_text(json.dumps({"metrics": {"best_hr@10": 0.0}}))
    # mean 0.7133; deviations -0.0133, -0.0033, +0.0167; sd = sqrt((1.778 + 0.111 + 2.778)e-4 / 2) = 0.01528
    out = paper.render("{{spread full/02_x/rows/gmf_torch_seed[0-9]/best_hr@10|.4f}}", tmp_path)
    assert out == "0.7133 ± 0.0153 (3 runs, 0.7000–0.7300)"
    # against a published 0.726: 0.71333 - 0.726 = -0.01267
    out = paper.render("{{spread full/02_x/rows/gmf_torch_seed[0-9]/best_hr@10 0.726|.4f}}", tmp_path)
    assert out == "0.7133 ± 0.0153 (3 runs, 0.7000–0.7300; mean − 0.726: -0.0127)"
    assert paper.render("{{spread full/02_x/rows/mlp_torch_seed[0-9]/best_hr@10}}", tmp_path) == paper.MISSING
    with pytest.raises(ValueError, match="PATTERN/METRIC"):
        paper.render("{{spread full/02_x/best_hr@10}}", tmp_path)


def test_meandiff_welch_and_ratio_against_scipy(tmp_path):
    from scipy import stats

    d = tmp_path / "full" / "02_x" / "rows"
    d.mkdir(parents=True)
    small, large = [0.7255, 0.7230, 0.7232], [0.7290, 0.7262, 0.7241]
    for seed, (a, b) in enumerate(zip(small, large)):
        (d / f"mf_seed{seed}_dim192.json").write_text(json.dumps({"metrics": {"hr@10": a, "train_time_s": 1247.0}}))
        (d / f"mf_seed{seed}.json").write_text(json.dumps({"metrics": {"hr@10": b, "train_time_s": 681.0}}))
    a, b = "full/02_x/rows/mf_seed[0-9]_dim192/hr@10", "full/02_x/rows/mf_seed[0-9]/hr@10"
    # means 0.72390 and 0.72643: difference -0.00253
    assert paper.render(f"{{{{meandiff {a} {b}}}}}", tmp_path) == "-0.0025"
    assert paper.render(f"{{{{meandiff {a} 0.7294|.3f}}}}", tmp_path) == "-0.006"  # 0.72390 - 0.7294
    welch = stats.ttest_ind(small, large, equal_var=False)
    assert paper.render(f"{{{{welch {a} {b}}}}}", tmp_path) == f"t = {welch.statistic:.2f} on {welch.df:.1f} df"
    assert paper.render(f"{{{{welch {a} full/02_x/rows/mf_seed0/hr@10}}}}", tmp_path) == paper.MISSING  # one row
    assert paper.render(f"{{{{meandiff {a} full/02_x/rows/gmf_seed[0-9]/hr@10}}}}", tmp_path) == paper.MISSING
    # a row's number over another's, and a benchmark file's numbers (keys with "/" in them)
    ratio = "{{ratio full/02_x/rows/mf_seed0_dim192/train_time_s full/02_x/rows/mf_seed0/train_time_s|.1f}}"
    assert paper.render(ratio, tmp_path) == "1.8"  # 1247 / 681 = 1.831
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "mf_cpu.json").write_text(json.dumps(
        {"examples_per_s": {"keras/tensorflow": {"neumf": 75968.4}, "keras/torch": {"neumf": 52582.5}}}))
    text = ("{{ratio benchmarks/mf_cpu/examples_per_s.keras/tensorflow.neumf benchmarks/mf_cpu/examples_per_s.keras/torch.neumf}} "
            "{{value benchmarks/mf_cpu/examples_per_s.keras/torch.neumf|,.0f}} {{value benchmarks/absent/x}}")
    assert paper.render(text, tmp_path) == "1.44 52,582 n/a (not run)"  # 75968.4 / 52582.5 = 1.4447
    # a benchmark's table: keys with spaces (written "_"), one list item per column
    (tmp_path / "benchmarks" / "pyg_cpu.json").write_text(json.dumps(
        {"rows": {"s per batch": [0.3368, 3.7026, 10.994]}, "threads": 1}))
    text = ("{{value benchmarks/pyg_cpu/rows.s_per_batch.0|.2f}} {{value benchmarks/pyg_cpu/rows.s_per_batch.1|.2f}} "
            "{{ratio benchmarks/pyg_cpu/rows.s_per_batch.1 benchmarks/pyg_cpu/rows.s_per_batch.0|.1f}} "
            "{{value benchmarks/pyg_cpu/rows.s_per_batch.3}} {{value benchmarks/pyg_cpu/rows.s_per_epoch.0}} "
            "{{value benchmarks/pyg_cpu/threads}}")
    assert paper.render(text, tmp_path) == "0.34 3.70 11.0 n/a (not run) n/a (not run) 1"  # 3.7026 / 0.3368 = 10.99
    with pytest.raises(ValueError, match="names one number"):
        paper.render("{{value benchmarks/pyg_cpu/rows.s_per_batch}}", tmp_path)
    with pytest.raises(ValueError, match="ratio REFERENCE_A REFERENCE_B"):
        paper.render("{{ratio benchmarks/mf_cpu/examples_per_s.keras/torch.neumf}}", tmp_path)
    with pytest.raises(ValueError, match="published number"):
        paper.render(f"{{{{spread {a} {b}}}}}", tmp_path)
    with pytest.raises(ValueError, match="no provenance line"):
        paper.render("{{provenance benchmarks/mf_cpu}}", tmp_path)
