"""The experiment scripts' --quick paths on tiny budgets: they run, write their tables, and resume."""

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "experiments"))

import common  # noqa: E402


def run_study(script, tmp_path, *args):
    """``python experiments/SCRIPT --quick ...`` in this process (``helpers.run_cli``; the runs it trains are
    processes of their own, as in a real study): returns the results and runs folders and what it printed."""
    out, runs = tmp_path / "results", tmp_path / "runs"
    result = run_cli(f"experiments/{script}", ["--quick", "--out", out, "--runs", runs, *args])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return out, runs, result.stdout


def table_rows(markdown):
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)) for line in lines[1:]]


@pytest.mark.slow  # covered in the default suite by the in-process tests below and stacked_mnist's --quick run
def test_toys_quick_writes_table_figures_and_skips_finished_runs(tmp_path):
    args = ["--steps", "3", "--width", "16", "--datasets", "25gaussians", "--variants", "dcgan,wgan_gp"]
    out, runs, _ = run_study("toys.py", tmp_path, *args)
    text = (out / "toys_quick.md").read_text()
    assert "Command: `python experiments/toys.py --quick" in text
    *rows, truth = table_rows(text)
    assert [(r["dataset"], r["variant"]) for r in rows] == [("25gaussians", "dcgan"), ("25gaussians", "wgan_gp")]
    # The dataset's last row: real points measured as samples (toys.truth_metrics), every mode covered.
    assert truth["variant"] == "truth (2500 other real points)" and truth["modes covered (per seed)"] == "25/25"
    # The records are in running order (seed by seed, five-critic-step variants first), the rows in the table's.
    records = {r["meta"]["variant"]: r for r in json.loads((out / "toys_quick.json").read_text())}
    for row, record in zip(rows, (records["dcgan"], records["wgan_gp"]), strict=True):
        m = record["metrics"]
        assert record["generator_steps"] == 3 and row["generator iterations"] == "3"
        assert 0 <= m["modes"] <= 25 and m["modes_total"] == 25
        assert row["modes covered (per seed)"] == f"{m['modes']}/25"
        assert float(row["high-quality %"]) == pytest.approx(100 * m["high_quality"], rel=1e-2, abs=1e-3)
        assert float(row["W1 / floor"]) == pytest.approx(m["w1"] / m["w1_true_vs_true"], rel=1e-2)
        assert m["w1_true_vs_true"] > 0
    # The table's metrics are evaluate.py's own file.
    metrics = json.loads((runs / "toys_quick" / "25gaussians_wgan_gp_s0" / "eval" / "metrics.json").read_text())
    assert metrics["results"] == records["wgan_gp"]["metrics"]
    assert (out / "figures" / "toys_quick_25gaussians_wgan_gp.png").stat().st_size > 1000
    assert "--n-critic 5" in " ".join(records["wgan_gp"]["train_args"]) and "--gp-weight 0.1" in " ".join(
        records["wgan_gp"]["train_args"]
    )
    assert "--n-critic 1" in " ".join(records["dcgan"]["train_args"])

    # Running the study again reuses finished runs: no new train.py invocation in the logs.
    log = runs / "toys_quick" / "25gaussians_wgan_gp_s0.log"
    before = log.read_text().count("train.py")
    run_study("toys.py", tmp_path, *args)
    assert log.read_text().count("train.py") == before == 1


@pytest.mark.slow  # covered in the default suite by the in-process tests below and stacked_mnist's --quick run
def test_digits_quick_writes_metrics_and_pictures(tmp_path):
    out, runs, _ = run_study("digits.py", tmp_path, "--steps", "2", "--variants", "wgan_gp", "--jobs", "1")
    rows = table_rows((out / "digits_quick.md").read_text())
    record = json.loads((out / "digits_quick.json").read_text())[0]
    m = record["metrics"]
    assert len(rows) == 2 and rows[0]["variant"] == "wgan_gp"
    assert rows[0]["classes covered (per seed, of 10)"] == str(m["classes_covered"])
    assert {"precision", "recall", "density", "coverage"} <= set(m)
    assert float(rows[0]["precision"]) == pytest.approx(m["precision"], rel=1e-2, abs=1e-3)
    # The last row is real data (held-out digits against the training digits): the floor.
    real = rows[1]
    assert real["variant"].startswith("real digits") and real["classes covered (per seed, of 10)"] == "10"
    assert float(real["class KL"]) < 0.05 and float(real["precision"]) > 0.8
    assert 0 <= m["classes_covered"] <= 10 and m["class_kl"] >= 0
    assert float(rows[0]["class KL"]) == pytest.approx(m["class_kl"], rel=1e-2, abs=1e-3)
    for name in ("samples.png", "losses.png", "progress.gif"):
        assert (out / "figures" / f"digits_quick_wgan_gp_{name}").stat().st_size > 500


def _record(meta: dict, metrics: dict, extra: dict | None = None, steps: int = 3) -> dict:
    """A study record as common.train_and_evaluate writes it, with the given metrics."""
    return {
        "name": "_".join(str(v) for v in meta.values()),
        "meta": meta,
        "metrics": metrics,
        "extra_metrics": extra or {},
        "generator_steps": steps,
        "train_seconds": 90.0,
    }


def test_toys_jobs_and_table_from_records():
    import toys

    jobs = toys.make_jobs(["25gaussians"], ["dcgan", "wgan_gp"], {"25gaussians": [0, 1]}, 3, 16, 1e-3)
    assert [j.name for j in jobs] == [f"25gaussians_{v}_s{s}" for v in ("dcgan", "wgan_gp") for s in (0, 1)]
    assert "--n-critic 1" in " ".join(jobs[0].train_args) and "--gp-weight" not in jobs[0].train_args
    wgan_gp = " ".join(jobs[2].train_args)
    assert "--n-critic 5 " in wgan_gp and wgan_gp.endswith("--gp-weight 0.1")  # the toy script's lambda
    # Every member: its paper's critic steps and penalty; Adam at the study's rate, or its paper's RMSprop.
    args = {v: " ".join(toys.variant_args(v, 1e-3)) for v in ("sngan", "r1", "wgan_div", "wgan")}
    assert args["sngan"] == "--n-critic 5 --optimizer adam --lr 0.001 --beta1 0.5 --beta2 0.9"
    assert args["r1"] == "--n-critic 1 --optimizer rmsprop --lr 0.0001 --gp-weight 10"
    assert args["wgan_div"].endswith("--gp-weight 2 --penalty-power 6")
    assert args["wgan"] == "--n-critic 5 --optimizer rmsprop --lr 5e-05 --clip-value 0.01"
    # --betas paper: each Adam member its own paper's betas (SNGAN's authors' 0.0, 0.9), RMSprop unchanged.
    paper = {v: " ".join(toys.variant_args(v, 1e-3, "paper")) for v in ("sngan", "wgan_gp", "wgan_div", "wgan")}
    assert paper["sngan"] == "--n-critic 5 --optimizer adam --lr 0.001 --beta1 0 --beta2 0.9"
    assert "--beta1 0.5 --beta2 0.9 " in paper["wgan_gp"]  # the toy script's own, its paper on the toys
    assert "--beta1 0.5 --beta2 0.999 " in paper["wgan_div"] and paper["wgan"] == args["wgan"]
    assert jobs[0].eval_args == ["--seed", "0", "--ema"] and jobs[0].extra_evals == {"raw": ["--seed", "0"]}
    records = []
    for i, job in enumerate(jobs):
        metrics = {"modes": 20 + i, "modes_total": 25, "high_quality": 0.5 + 0.1 * i, "w1": 0.2, "w1_true_vs_true": 0.1}
        metrics.update(precision=0.9, recall=0.5, density=1.0, coverage=0.4)
        raw = {**metrics, "high_quality": 0.25, "w1": 0.4}
        records.append(_record(job.meta, metrics, {"raw": raw}))
    rows = table_rows(toys.table(records, ["25gaussians"], ["dcgan", "wgan_gp"]))
    assert [r["variant"] for r in rows] == ["dcgan", "wgan_gp"]
    assert rows[0]["modes covered (per seed)"] == "20/25, 21/25" and rows[1]["seeds"] == "2"
    assert rows[0]["high-quality %"] == "55 (50-60)" and rows[1]["high-quality %"] == "75 (70-80)"
    assert rows[0]["W1 / floor"] == "2 (2-2)" and rows[0]["raw G: W1 / floor"] == "4 (4-4)"
    assert rows[0]["raw G: high-quality %"] == "25 (25-25)"
    assert rows[0]["train minutes / run"] == "1.5" and rows[0]["precision"] == "0.9 (0.9-0.9)"
    # With the real points' metrics, each dataset ends with its floor row.
    truth = {"modes": 25, "modes_total": 25, "high_quality": 0.988, "w1": 0.11, "precision": 0.97, "recall": 0.96}
    truth.update(density=1.02, coverage=0.97)
    rows = table_rows(toys.table(records, ["25gaussians"], ["dcgan", "wgan_gp"], {"25gaussians": truth}))
    assert [r["variant"] for r in rows] == ["dcgan", "wgan_gp", "truth (2500 other real points)"]
    assert rows[2]["modes covered (per seed)"] == "25/25" and rows[2]["high-quality %"] == "98.8"
    assert rows[2]["W1 / floor"] == "1.1" and rows[2]["coverage"] == "0.97"  # 0.11 over the runs' floor 0.1


def test_toys_truth_row_measures_real_points_as_samples():
    import toys

    truth = toys.truth_metrics("8gaussians", samples=1000)
    assert truth["modes"] == 8 and truth["modes_total"] == 8
    inside = 1 - math.exp(-4.5)  # the share of a 2D Gaussian within 3 standard deviations of its centre
    assert abs(truth["high_quality"] - inside) < 4 * math.sqrt(inside * (1 - inside) / 1000)
    assert min(truth["precision"], truth["recall"], truth["coverage"]) > 0.9 and 0.8 < truth["density"] < 1.2
    assert 0 < truth["w1"] < 0.2  # two draws of the same mixture: small, not zero
    assert "modes" not in toys.truth_metrics("swissroll", samples=500)


def test_a_finished_run_is_not_trained_again(tmp_path, monkeypatch):
    job = common.Job("a_run", ["--variant", "wgan_gp"], ["--seed", "0"], {"variant": "wgan_gp"}, {"ema": ["--ema"]})
    record = {**_record(job.meta, {"w1": 0.1}), "train_args": job.train_args, "eval_args": job.eval_args}
    record["extra_evals"] = job.extra_evals
    (tmp_path / "a_run").mkdir()
    (tmp_path / "a_run" / "experiment.json").write_text(json.dumps(record))
    monkeypatch.setattr(common, "run_script", lambda *args, **kwargs: pytest.fail("ran a finished job again"))
    assert common.train_and_evaluate(job, tmp_path) == record
    changed = common.Job("a_run", ["--variant", "wgan_gp", "--steps", "9"], job.eval_args, job.meta, job.extra_evals)
    with pytest.raises(pytest.fail.Exception, match="ran a finished job again"):
        common.train_and_evaluate(changed, tmp_path)  # other arguments: trained (resumed) again


def test_a_longer_budget_continues_the_run_and_adds_its_training_time(tmp_path, monkeypatch):
    run = tmp_path / "a_run"
    (run / "backup").mkdir(parents=True)
    (run / "eval").mkdir()
    (run / "eval" / "metrics.json").write_text(json.dumps({"results": {"w1": 0.1}}))
    (run / "backup" / "state.json").write_text(json.dumps({"step": 20}))
    monkeypatch.setattr(common, "run_script", lambda script, *a, **k: 5.0 if script == "train.py" else 0.0)

    def train(steps: int, other: str = "wgan_gp", previous: list[str] | None = None) -> dict:
        job = common.Job("a_run", ["--variant", other, "--steps", str(steps)], ["--seed", "0"], {}, {})
        if previous is not None:
            before = {"train_args": previous, "train_seconds": 30.0, "eval_args": job.eval_args}
            (run / "experiment.json").write_text(json.dumps(before))
        return common.train_and_evaluate(job, tmp_path)

    before = ["--variant", "wgan_gp", "--steps", "10"]
    assert train(20, previous=before)["train_seconds"] == 35.0  # 10 -> 20 steps: 30 s before, 5 s now
    assert train(20, "dcgan", previous=before)["train_seconds"] == 5.0  # another run: its own time only
    assert train(5, previous=before)["train_seconds"] == 5.0  # a smaller budget does not continue it


def test_conditional_study_jobs_share_runs_and_tables_group_them():
    import conditional

    jobs = conditional.make_jobs(["digits", "mnist"], [0, 1], 10, 8, "/data")
    names = [j.name for j in jobs]
    assert len(names) == len(set(names)) == (2 * 2 * 2 + 1) * 2  # the default-conditioning run is made once
    concat = next(j for j in jobs if j.name == "digits_wgan_gp_projection_concat_s1")
    assert concat.train_args[-4:] == ["--conditional", "projection", "--generator-conditioning", "concat"]
    assert "--data-dir" in next(j for j in jobs if j.meta["dataset"] == "mnist").train_args
    assert not any("--conditional" in j.train_args for j in jobs if j.meta["critic"] == "none")
    base = {"classes_covered": 10, "class_kl": 0.1, "classifier_score": 8.0, "classifier_fid": 6.0}
    records = []
    for job in jobs:
        metrics = dict(base)
        if job.meta["generator"] is not None:
            accuracy = {"cbn": 0.9, "concat": 0.5}[job.meta["generator"]] + 0.02 * job.meta["seed"]
            metrics.update(asked_class_accuracy=accuracy, per_class_classifier_fid_mean=12.0)
        record = _record(job.meta, metrics)
        record["name"] = job.name
        records.append(record)
    first, second = conditional.tables(records, ["digits", "mnist"]).split("\n\n")
    rows = table_rows(first)
    assert [(r["dataset"], r["variant"], r["model"]) for r in rows[:2]] == [
        ("digits", "wgan_gp", "conditional (projection critic)"),
        ("digits", "wgan_gp", "unconditional"),
    ]
    assert rows[0]["asked class % (chance 10)"] == "51 (50-52)" and rows[1]["asked class % (chance 10)"] == "-"
    assert [r["generator conditioning (wgan_gp, projection critic, digits)"] for r in table_rows(second)] == [
        "cbn",
        "concat",
    ]
    assert table_rows(second)[0]["asked class % (chance 10)"] == "91 (90-92)"


def test_digits_table_with_its_real_data_row():
    import digits

    real = digits.real_data_metrics()  # held-out real digits through the classifier (cached per pytest run)
    assert real["classes_covered"] == 10 and real["class_kl"] < 0.05 and real["precision"] > 0.8
    metrics = {"classes_covered": 9, "class_kl": 0.1, "classifier_score": 8.0, "classifier_fid": 6.0}
    metrics.update(swd_avg=12.0, precision=0.7, recall=0.8, density=0.9, coverage=0.5)
    ema = {**metrics, "classes_covered": 10, "class_kl": 0.05, "classifier_fid": 5.0}
    records = [_record({"variant": "wgan_gp", "seed": s}, metrics, {"ema": ema}) for s in (0, 1)]
    rows = table_rows(digits.table(records, ["wgan_gp"], real))
    assert rows[0]["classes covered (per seed, of 10)"] == "9, 9" and rows[0]["EMA G: classifier FID"] == "5 (5-5)"
    assert rows[1]["variant"].startswith("real digits") and rows[1]["classes covered (per seed, of 10)"] == "10"
    assert float(rows[1]["class KL"]) == pytest.approx(real["class_kl"], rel=1e-2, abs=1e-3)


def test_grad_depth_quick_table_matches_the_recorded_norms_and_resumes(tmp_path):
    args = ["--steps", "8", "--width", "8", "--depth", "4", "--seeds", "0,1", "--settings", "sngan"]
    out, runs, _ = run_study("grad_depth.py", tmp_path, *args)
    results = json.loads((out / "grad_depth_quick.json").read_text())
    assert [(r["label"], r["seeds"]) for r in results] == [("sngan", [0, 1])]
    assert (out / "figures" / "grad_depth_quick.png").stat().st_size > 1000
    rows = table_rows((out / "grad_depth_quick.md").read_text())
    for result, row in zip(results, rows, strict=True):
        assert len(result["layers"]) == 5  # 4 hidden layers + the output layer
        # Recompute the table's numbers from the callback's CSVs: mean log10 over the last quarter, then over seeds.
        per_seed = []
        for seed in (0, 1):
            run = runs / "grad_depth_quick" / f"{result['label'].replace(' ', '_')}_s{seed}"
            with open(run / "grad_norms.csv") as f:
                records = list(csv.DictReader(f))
            tail = [r for r in records if int(r["step"]) >= 8 * 3 / 4]
            per_seed.append([np.mean([math.log10(max(float(r[k]), 1e-30)) for r in tail]) for k in result["layers"]])
        expected = np.mean(per_seed, axis=0)
        np.testing.assert_allclose(result["log10_norms"], expected, rtol=1e-6)
        np.testing.assert_allclose(result["low"], np.min(per_seed, axis=0), rtol=1e-6)
        assert row["log10 norm, layer 1 (input)"].startswith(f"{expected[0]:.2f} (")
        assert float(row["spread max-min (decades)"]) == pytest.approx(max(expected) - min(expected), abs=0.006)
    sn = [layer for layer in results[0]["layers"] if layer.startswith("sn_")]
    assert len(sn) == 5  # sngan's critic: every layer spectrally normalized

    # Started again, the study reads the finished runs back instead of training them again.
    csv_path = runs / "grad_depth_quick" / "sngan_s1" / "grad_norms.csv"
    before = csv_path.stat().st_mtime_ns
    _, _, stdout = run_study("grad_depth.py", tmp_path, *args)
    assert csv_path.stat().st_mtime_ns == before
    assert json.loads((out / "grad_depth_quick.json").read_text()) == results


def test_celeba_quick_writes_recipe_with_measured_and_published_numbers(tmp_path):
    out, _, _ = run_study("celeba.py", tmp_path, "--steps", "1", "--variants", "dcgan,wgan_gp")
    text = (out / "celeba_quick.md").read_text()
    measured = json.loads((out / "celeba_quick.json").read_text())
    rows = table_rows(text)
    assert [r["variant"] for r in rows] == ["dcgan", "wgan_gp"]
    assert measured["wgan_gp"]["iterations_per_epoch"] == 162_770 // (64 * 5) == 508
    assert measured["dcgan"]["iterations_per_epoch"] == 162_770 // 64
    assert all(m["seconds_per_iteration"] > 0 for m in measured.values())
    assert "WGAN GP: 30" in text and "python train.py --variant wgan_gp --dataset celeb_a" in text
    assert all(r["our FID"] == "not measured" for r in rows)


def test_failed_training_raises_with_the_log_tail(tmp_path):
    # A command-line error: train.py stops before it imports TensorFlow, so this costs a second.
    with pytest.raises(common.ExperimentError, match="invalid int value: 'many'"):
        common.run_script("train.py", ["--steps", "many", "--dataset", "25gaussians"], tmp_path / "x.log")


def test_copy_gif_keeps_evenly_spaced_frames_with_first_and_last(tmp_path):
    from PIL import Image, ImageSequence

    frames = [Image.fromarray(np.full((6, 6), 8 * i, np.uint8)) for i in range(30)]
    src = tmp_path / "progress.gif"
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=100, loop=0)
    dst = common.copy_gif(src, tmp_path / "out" / "small.gif", max_frames=12)
    with Image.open(dst) as gif:
        kept = [np.asarray(f.convert("L"))[0, 0] for f in ImageSequence.Iterator(gif)]
    # round(i * 29 / 11) for i = 0..11: 0, 3, 5, 8, 11, 13, 16, 18, 21, 24, 26, 29
    assert kept == [8 * i for i in (0, 3, 5, 8, 11, 13, 16, 18, 21, 24, 26, 29)]
    # A short GIF is kept whole.
    short = common.copy_gif(dst, tmp_path / "out" / "same.gif", max_frames=20)
    with Image.open(short) as gif:
        assert gif.n_frames == 12
    with pytest.raises(common.ExperimentError, match="missing"):
        common.copy_gif(tmp_path / "nope.gif", tmp_path / "x.gif")


def test_studies_run_seed_by_seed_costliest_variant_first():
    """A study stopped part-way holds every row's first seed: jobs go seed by seed, five-critic-step variants first."""
    jobs = [
        common.Job(name=f"{v}_s{s}", train_args=[], meta={"variant": v, "seed": s})
        for v in ("dcgan", "wgan_gp", "r1", "sngan")
        for s in (2, 0, 1)
    ]
    order = [j.name for j in common.seed_by_seed(jobs)]
    assert order == [f"{v}_s{s}" for s in (0, 1, 2) for v in ("wgan_gp", "sngan", "dcgan", "r1")]
    assert [common.critic_steps(j) for j in jobs[:4:3]] == [1.0, 5.0]
