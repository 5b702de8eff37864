"""What a seed's report shows a reader first: one title, the links, its logs folded, its tables formatted,
one learning-curve figure per run; and the task's log file without progress-bar frames."""
import base64
import io
import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from studylib import paths  # noqa: E402
from studylib.report import display, plots, tables  # noqa: E402
from studylib.report.render import LineLog, reader_notebook, render_html, terminal_lines  # noqa: E402

from test_train import make_model, quadrant_data  # noqa: E402

SEEDS = [f"04_frozen_vs_full--seed{k}" for k in range(5)]
EPOCH = "epoch {k}/3 lr 1.00e-03 | train loss 0.9000 acc 0.6000 | val loss 1.0000 acc 0.5500 macro-F1 0.5000 | 1.0s"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _png() -> str:
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def _training_cell(tags=("log",)):
    """A training cell as a runner's kernel leaves it: a bar's frames on stderr, epoch lines on stdout
    between them (each after the bar was cleared), the table, a figure."""
    cell = nbformat.v4.new_code_cell("outcomes = train(...)\nresults_table(outcomes)", execution_count=1,
                                     metadata={"tags": list(tags)} if tags else {})
    out = [nbformat.v4.new_output("stream", name="stdout", text="fit on cpu: 13,098 of 3,383,242 parameters trainable\n")]
    for k in (1, 2, 3):
        out += [nbformat.v4.new_output("stream", name="stderr", text=f"\rA: {33 * k - 20}%|##   | {k}/3 [00:0{k}<00:01]"),
                nbformat.v4.new_output("stream", name="stderr", text="\r                                \r"),
                nbformat.v4.new_output("stream", name="stdout", text=EPOCH.format(k=k) + "\n")]
    out += [nbformat.v4.new_output("stream", name="stderr", text="\rA: 100%|#####| 3/3 [00:03<00:00]\n"),
            nbformat.v4.new_output("execute_result", {"text/html": "<table><tr><td>A</td><td>0.712</td></tr></table>",
                                                      "text/plain": "table"}, execution_count=1),
            nbformat.v4.new_output("display_data", {"image/png": _png(), "text/plain": "<Figure>"})]
    cell.outputs = out
    return cell


def test_a_tagged_cells_printed_output_is_folded_below_its_table_and_figure(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A report"), _training_cell()]
    nbformat.write(nb, tmp_path / "r.ipynb")
    render_html(tmp_path / "r.ipynb", tmp_path / "r.html", "A report")
    page = (tmp_path / "r.html").read_text()
    folds = re.findall(r"<details class=.studylib-log.>.*?</details>", page, flags=re.S)
    assert len(folds) == 1
    log = folds[0]
    assert "<summary>training log (5 lines)</summary>" in log  # the fit's line, 3 epochs, the final bar
    assert all(EPOCH.format(k=k) in log for k in (1, 2, 3)) and "A: 100%|#####| 3/3" in log
    assert "13%|" not in page and "46%|" not in page  # the bar's frames resolved to its last one
    rest = page.replace(log, "")
    assert "<table>" in rest and "<img" in rest and "<table>" not in log and "<img" not in log
    assert rest.index("<table>") < page.index(log)  # the table comes first, the log after it
    # an untagged cell's output stays in view (its finished bar resolved away as before)
    nb.cells = [_training_cell(tags=())]
    plain = reader_notebook(nb)
    assert not any("studylib-log" in str(o.get("data", {})) for o in plain.cells[0].outputs)


def test_a_saved_progress_widget_is_not_shown_as_its_first_frame():
    cell = nbformat.v4.new_code_cell("fit()", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("display_data", {
        "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2, "version_minor": 0},
        "text/plain": "A: last block + head:   0%|          | 0/939 [00:00<?, ?batch/s]"})]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    assert reader_notebook(nb).cells[0].outputs == []


def test_the_header_has_no_title_of_its_own_and_links_the_index_the_scorecard_and_the_other_seeds():
    nav = display.nav_markdown(SEEDS[2], SEEDS)
    text = display.header_markdown("6 settings of efficientnet_lite0 on FERPlus", "cpu", {"seed": 2, "train": {}}, {"a.csv": "0" * 64},
                                   {"efficientnet_lite0": {"file": "w/lite0.pth", "sha256": "1" * 64}}, "cpu",
                                   ["3 epochs instead of 10"], nav=nav, sizes={"Training": 15000, "PrivateTest": 3589})
    assert not [line for line in text.splitlines() if line.startswith("#")]  # the notebook's H1 is the title
    assert text.splitlines()[0] == "**6 settings of efficientnet_lite0 on FERPlus**"
    assert "[index](index.html)" in text and "[scorecard](06_scorecard.html)" in text
    assert "seeds: [0](04_frozen_vs_full--seed0.html) · [1](04_frozen_vs_full--seed1.html) · **2** · [3](" in text
    assert "(04_frozen_vs_full--seed2.html)" not in text  # not itself
    assert "**seed** 2" in text and "Training 15,000" in text and "- 3 epochs instead of 10" in text and "sha256" in text
    # one seed: no seed links
    assert "seeds" not in display.nav_markdown("03_cnn_from_scratch", [])
    # a render without a scorecard task (the curves, a sweep) links none
    assert "scorecard" not in display.nav_markdown("08_curves-fer2013", [], scorecard=False)


def test_a_page_links_the_scorecard_only_when_its_renders_index_lists_one(tmp_path):
    import json
    from studylib.report.run_header import lists_scorecard as _lists_scorecard
    assert _lists_scorecard(tmp_path)   # no index yet: as before
    (tmp_path / "index.json").write_text(json.dumps({"runs": [{"name": "08_curves-fer2013"}], "not_run_yet": []}))
    assert not _lists_scorecard(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"runs": [], "not_run_yet": ["06_scorecard"]}))
    assert _lists_scorecard(tmp_path)


def test_a_task_knows_its_runs_seeds_and_the_report_shows_only_cuts_that_concern_it(tmp_path):
    from studylib.report import Run
    from studylib.study.experiments import resolve
    from studylib.study.profile import load_profile
    doc = {"profile": "t", "data_dir": str(tmp_path), "cuts": ["a stand-in backbone"], "seeds": [0, 1],
           "runs": [{"name": "audit", "notebook": "01_data_audit"},
                    {"name": "cnn", "notebook": "03_cnn_from_scratch", "cuts": ["fewer epochs"],
                     "grid": {"lr": [0.01, 0.1]}}]}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(doc))
    tasks = {t.name: t for t in load_profile(str(tmp_path / "t.yaml")).tasks}
    assert tasks["audit"].siblings == []
    assert tasks["cnn--lr=0.1--seed1"].siblings == ["cnn--lr=0.1--seed0", "cnn--lr=0.1--seed1"]
    cnn = Run("03_cnn_from_scratch", resolve("03_cnn_from_scratch", {}), tasks["cnn--lr=0.1--seed1"])
    audit = Run("01_data_audit", resolve("01_data_audit", {}), tasks["audit"])
    from studylib.report import run_header as heading
    assert heading.cuts(cnn.task, cnn.p) == ["fewer epochs"] and heading.cuts(audit.task, audit.p) == []  # neither trains a pretrained backbone
    frozen = Run("04_frozen_vs_full", resolve("04_frozen_vs_full", {}), tasks["cnn--lr=0.1--seed1"])
    assert heading.cuts(frozen.task, frozen.p) == ["a stand-in backbone", "fewer epochs"]
    assert cnn.seeds == 2 and audit.seeds == 1
    assert heading.nav(cnn.task) == ""  # an interactive session (no results folder) links nothing
    cnn = Run("03_cnn_from_scratch", cnn.p, tasks["cnn--lr=0.1--seed1"].with_paths(".", "results"))
    assert "seeds: [0](cnn--lr=0.1--seed0.html) · **1**" in heading.nav(cnn.task)


def test_a_seeds_verdict_names_the_seed_and_sends_the_reader_to_the_pooled_one():
    row = {"claim": "A beats B", "paper_value": "A > B", "estimate": 0.0123456, "ci": [-0.01, 0.03], "n": 1,
           "verdict": "inconclusive", "this_seed": 0, "p": 0.2345678, "test_protocol": "best"}
    text = display.verdict_sentence([row], seeds=5)
    assert text.startswith("**This seed alone (seed 0).** A beats B: **inconclusive** (ours 0.012 [-0.010, 0.030]")
    assert "**Pooled over the run's 5 seeds:** see the [scorecard](06_scorecard.html)" in text
    assert "not known when a seed's report is made" in text
    table = display.claims_table([row])
    assert list(table["p (unadj.)"]) == ["0.235"] and list(table["ours [95% CI]"]) == ["0.012 [-0.010, 0.030]"]


def test_the_log_file_keeps_the_epoch_lines_and_drops_the_progress_frames():
    from tqdm import tqdm
    f = io.StringIO()
    log = LineLog(f)
    bar = tqdm(total=30, desc="A", file=log, mininterval=0, miniters=1)
    for k in (1, 2, 3):
        for _ in range(10):
            bar.update()
        bar.write(EPOCH.format(k=k), file=log)
    bar.close()
    log.write("an unfinished line")
    log.close()
    lines = f.getvalue().splitlines()
    assert [line for line in lines if line.startswith("epoch")] == [EPOCH.format(k=k) for k in (1, 2, 3)]
    assert len(lines) == 5 and re.match(r"A: 100%\|.*\| 30/30", lines[3]) and lines[4] == "an unfinished line"
    assert "\r" not in f.getvalue() and len(f.getvalue()) < 1000  # ~35 frames drawn, none kept
    assert terminal_lines("a\rb\n\n\r   \rc\n") == ["b", "", "c"]


@pytest.mark.parametrize("headless", [True, False])
def test_a_fit_draws_one_bar_and_prints_its_epochs_where_nobody_watches_a_widget(headless, monkeypatch, capsys):
    from studylib.train import TrainConfig, fit
    from studylib.train.loop import HEADLESS_ENV, fit_label
    if headless:
        monkeypatch.setenv(HEADLESS_ENV, "1")
    else:
        monkeypatch.delenv(HEADLESS_ENV, raising=False)
    with fit_label("tiny arm"):
        fit(make_model(), quadrant_data(64, 0), quadrant_data(32, 1, split="val"),
            TrainConfig(epochs=3, batch_size=16, seed=0, device="cpu"))
    captured = capsys.readouterr()
    out, err = terminal_lines(captured.out), terminal_lines(captured.err)
    # a runner's kernel buffers stdout and stderr apart: there the bar shares stdout with the epoch lines
    lines = out if headless else out + err
    assert [line[:10] for line in out if line.startswith("epoch")] == ["epoch 1/3 ", "epoch 2/3 ", "epoch 3/3 "]
    bars = [line for line in lines if "%|" in line]
    assert len(bars) == 1 and bars[0].startswith("tiny arm: 100%|") and "12/12" in bars[0]
    assert (err == []) == headless


def test_one_learning_curve_figure_draws_every_arm_on_shared_axes():
    def history(shift):
        return pd.DataFrame(dict(epoch=[1, 2, 3], lr=[1e-3] * 3, train_loss=[1.0 + shift, 0.6, 0.4],
                                 val_loss=[1.1, 0.8 + shift, 0.9], train_acc=[0.5, 0.7, 0.8],
                                 val_acc=[0.4, 0.6 + shift, 0.55], val_macro_f1=[0.3, 0.5, 0.5], seconds=[1.0] * 3))
    arms = {f"arm {k}": SimpleNamespace(fit=SimpleNamespace(history=history(k / 10), best_epoch=2)) for k in range(3)}
    fig = plots.arm_curves(arms)
    axes = fig.axes
    assert len(axes) == 3
    for ax in axes:
        assert [line.get_label() for line in ax.get_lines()] == list(arms)  # one line per arm, per panel
    assert all(axes[0].get_shared_x_axes().joined(axes[0], ax) for ax in axes[1:])
    assert axes[0].get_shared_y_axes().joined(axes[0], axes[1])  # train and validation loss on one scale
    assert len(axes[1].collections) == 3 and len(axes[2].collections) == 3  # each arm's best epoch marked
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [*arms, "epoch chosen on validation"]


def _outcome(name, acc):
    metrics = {"accuracy": acc, "f1_macro": acc - 0.1234567}
    return SimpleNamespace(
        name=name, metrics=metrics, ci={"accuracy": (acc - 0.02, acc + 0.02), "macro_f1": (0.5, 0.6)},
        val={"acc": 0.9285714}, seconds=754.2, config=SimpleNamespace(lr=3e-05),
        model_info={"pretrained": True, "trainable_params": 3383242}, fit=SimpleNamespace(best_epoch=2),
        protocol=lambda p: {"epoch": 3, "metrics": {"accuracy": 0.6666667, "f1_macro": 0.5555555}},
        selection={"seed": 0, "monitor": "val_macro_f1", "lr": 3e-05, "trials": [
            {"lr": 3e-05, "best_val": 0.4285714, "best_epoch": 2, "final_epoch": 4, "stopped_early": True},
            {"lr": 1e-04, "best_val": None, "best_epoch": 0, "final_epoch": 10, "stopped_early": False}]})


def test_results_and_search_tables_show_figures_to_3_decimals_and_no_raw_float():
    from studylib.study.arms import selection_table
    outcomes = {"A": _outcome("A", 0.7123456), "B": _outcome("B", 0.6543219)}
    table = tables.results_table(outcomes)
    assert len(table.columns) <= 10 and not any(pd.api.types.is_numeric_dtype(d) for d in table.dtypes)
    figures = table.drop(columns=["weights", "lr", "epoch: best / last", "trainable params", "train time"])
    cells = " ".join(map(str, figures.to_numpy().ravel()))
    decimals = re.findall(r"\d+\.(\d+)", cells)
    assert decimals and all(len(d) == 3 for d in decimals), cells
    assert table.loc["A", "test acc [95% CI]"] == "0.712 [0.692,\u00a00.732]" and table.loc["A", "lr"] == "3e-05"
    assert table.loc["A", "epoch: best / last"] == "2 / 3" and table.loc["A", "train time"] == "12.6 min"
    search = selection_table({"A": outcomes["A"]})
    assert list(search.columns) == ["best epoch", "stopped at epoch", "best val macro f1 (seed 0)", "chosen"]
    assert list(search["best val macro f1 (seed 0)"]) == ["0.429", "—"] and list(search["chosen"]) == ["✔", ""]
    assert list(search["stopped at epoch"]) == ["4 (early)", "10 (epoch cap)"]


def test_a_searched_run_shows_its_search_as_a_paragraph_and_a_table_and_another_run_nothing(monkeypatch):
    shown = []
    monkeypatch.setattr(display, "display", shown.append)
    display.lr_search({"A": SimpleNamespace(selection=None)})
    assert shown == []
    display.lr_search({"A": _outcome("A", 0.7)})
    assert "Learning rates chosen on validation" in shown[0].data
    assert [rate for _, rate in shown[1].index] == ["3e-05", "0.0001"]  # the rates as a profile writes them


def test_the_partial_vs_full_notebook_titles_fit_both_papers_and_show_the_search_only_when_there_is_one():
    nb = nbformat.read(paths.NOTEBOOKS / "05_partial_vs_full.ipynb", as_version=4)
    source = "\n".join(c.source for c in nb.cells)
    assert "Learning rates chosen" not in source and "report.display.lr_search(outcomes)" in source
    assert 'p.paper == "001"' in source and "(paper 004)" in nb.cells[0].source and "(paper 001)" in nb.cells[0].source
    for name in ("02_features_svm_vs_finetune", "03_cnn_from_scratch", "04_frozen_vs_full", "05_partial_vs_full"):
        cells = nbformat.read(paths.NOTEBOOKS / f"{name}.ipynb", as_version=4).cells
        assert [c.source.count("\n# ") + c.source.startswith("# ") for c in cells if c.cell_type == "markdown"][0] == 1
        logged = [c.source for c in cells if "log" in c.metadata.get("tags", [])]
        assert any("train_arms" in s for s in logged) and any("run.header" in s for s in logged), name
        assert not any("{k: len(v)" in c.source for c in cells), name  # the split sizes are in the header
