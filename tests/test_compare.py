"""``compare``: two tiny models (1 epoch) + both baselines on synthetic data; reports written;
the same seed gives the same results."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from edgeseg.datasets import discover  # noqa: E402
from edgeseg.errors import ConfigError, ModelError  # noqa: E402
from edgeseg.train.compare import (  # noqa: E402
    baseline_predictor,
    check_methods,
    compare,
    int8_latency,
    paired_tests,
    split_for_comparison,
)

pytestmark = pytest.mark.slow
TINY = dict(
    epochs=1,
    size=64,
    seed=0,
    base_filters=4,
    depth=2,
    batch_size=8,
    classes="nerve=1,vessel=2",
    subject_regex=r"^(s\d+)_",
    log=lambda _m: None,
)


CREDIT = "test dataset (example.org), CC BY 4.0"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from edgeseg.train.synth import write_dataset

    out = tmp_path_factory.mktemp("cmp_data")
    write_dataset(out, 32, size=(64, 64), seed=0)
    return out


@pytest.fixture(scope="module")
def first(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("cmp") / "a"
    ticks = []
    report = compare(
        data, "resunet,fcn", out, progress=ticks.append, latency=True, credit=CREDIT, **TINY
    )
    return out, report, ticks


def test_writes_all_reports(first):
    out, report, ticks = first
    for name in ("comparison.json", "comparison.md", "comparison.html", "per_frame.csv"):
        assert (out / name).is_file() and (out / name).stat().st_size > 200
    for model in ("resunet", "fcn"):
        assert (out / "runs" / model / "config.json").is_file()
        assert (out / "runs" / model / "model_best.h5").is_file()
    saved = json.loads((out / "comparison.json").read_text())
    results = saved["results"]
    assert results["credit"] == CREDIT  # the dataset's credit goes wherever results are shown
    assert all(CREDIT in (out / f"comparison.{ext}").read_text() for ext in ("md", "html"))
    assert [m["name"] for m in results["methods"]] == ["resunet", "fcn", "edges", "otsu"]
    assert [m["kind"] for m in results["methods"]] == ["model", "model", "baseline", "baseline"]
    n_test = results["split"]["test_frames"]
    assert sum(ticks) == 4 * n_test
    for m in results["methods"]:
        dice = m["summary"]["nerve"]["dice"]
        assert 0.0 <= dice["mean"] <= 1.0 and dice["n"] == n_test
    fcn = results["methods"][1]
    assert fcn["params"] > 0 and fcn["macs"] > fcn["params"]
    assert results["methods"][2]["params"] is None
    # Every non-reference method is tested against resunet, Holm-adjusted p >= raw p.
    family = results["tests"]["nerve/dice"]
    assert set(family) == {"fcn", "edges", "otsu"}
    for t in family.values():
        for test in ("wilcoxon", "ttest"):
            p, adj = t[test]["pvalue"], t[test]["pvalue_holm"]
            assert math.isnan(p) or adj >= p - 1e-12
    md = (out / "comparison.md").read_text()
    assert "paired tests vs resunet" in md and "| otsu | baseline |" in md
    html = (out / "comparison.html").read_text()
    assert "<svg" in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "resunet" in report["table"]


def test_latency_is_measured_and_a_failed_conversion_is_explained(first, monkeypatch):
    from edgeseg.convert import tflite

    out, report, _ = first
    latency = report["timing"]["latency"]
    assert set(latency) == {"resunet", "fcn"}
    for name, row in latency.items():  # both tiny models convert here: a time, no note
        assert row["ms"] > 0 and row["note"] == "", (name, row)
        assert row["bytes"] == (out / "runs" / name / "export" / "model_int8.tflite").stat().st_size
    assert "int8 latency" in (out / "comparison.md").read_text()

    def fails(*_args, **_kwargs):
        raise ModelError("TFLite int8 conversion failed: no kernel")

    monkeypatch.setattr(tflite, "export", fails)
    row = int8_latency(out / "runs" / "fcn", np.zeros((8, 64, 64), np.uint8))
    assert row == {"ms": None, "note": "does not convert: TFLite int8 conversion failed: no kernel",
                   "bytes": None}  # fmt: skip


def test_same_seed_same_results(first, data, tmp_path):
    out, _, _ = first
    again = compare(data, ["resunet", "fcn"], tmp_path / "b", latency=False, credit=CREDIT, **TINY)
    before = json.loads((out / "comparison.json").read_text())["results"]
    after = json.loads((tmp_path / "b" / "comparison.json").read_text())["results"]
    assert before == after
    assert again["timing"]["latency"] == {}


def test_refuses_to_overwrite_and_unknown_names(first, data):
    out, _, _ = first
    with pytest.raises(ConfigError, match="already holds a comparison"):
        compare(data, ["resunet"], out, **TINY)
    with pytest.raises(ConfigError, match="not one of"):
        check_methods(["resunet", "nope"], ["otsu"])
    with pytest.raises(ConfigError, match="not one of"):
        check_methods(["resunet"], ["canny2"])
    with pytest.raises(ConfigError, match="once"):
        check_methods(["fcn", "fcn"], [])


def test_split_holds_out_test_subjects(data):
    samples, _ = discover(data, subject_regex=r"^(s\d+)_")
    train, val, test = split_for_comparison(samples, None, 0.2, 0)
    subjects = [{s.subject for s in part} for part in (train, val, test)]
    assert not (subjects[0] & subjects[1] or subjects[0] & subjects[2] or subjects[1] & subjects[2])
    assert len(train) + len(val) + len(test) == len(samples)
    two = [s for s in samples if s.subject in ("s00", "s01")]
    with pytest.raises(ConfigError, match="needs 3 or more"):
        split_for_comparison(two, None, 0.2, 0)
    train, val, test = split_for_comparison(two, samples[:3], 0.5, 0)
    assert len(test) == 3 and len(train) + len(val) == len(two)


def test_baseline_predictor_shapes():
    predict = baseline_predictor(lambda f: (f > 100).astype(np.uint8), n_classes=2)
    images = np.zeros((3, 16, 16), np.uint8)
    images[:, 4:8, 4:8] = 200
    probs, presence = predict(images)
    assert probs.shape == (3, 16, 16, 2) and presence is None
    assert probs[..., 0].sum() == 3 * 16 and not probs[..., 1].any()


def test_paired_tests_holm_family():
    scores = {
        "ref": {"c/dice": [0.5, 0.6, 0.7, 0.8], "c/iou": [0.3, 0.4, 0.5, 0.6]},
        "x": {"c/dice": [0.5, 0.6, 0.7, 0.8], "c/iou": [0.3, 0.4, 0.5, 0.6]},
        "y": {"c/dice": [0.1, 0.2, 0.3, 0.5], "c/iou": [0.1, 0.1, 0.2, 0.2]},
    }
    out = paired_tests(scores, "ref", ["c"])
    assert out["c/dice"]["x"]["wilcoxon"]["pvalue"] == 1.0
    assert out["c/dice"]["y"]["diff"]["mean_diff"] == pytest.approx(-0.375)
    assert out["c/dice"]["y"]["ttest"]["pvalue_holm"] == pytest.approx(
        min(1.0, 2 * out["c/dice"]["y"]["ttest"]["pvalue"])
    )


def test_bad_test_frame_fails_before_any_training(data, tmp_path):
    from edgeseg.errors import DataError
    from edgeseg.train.synth import write_dataset

    test = tmp_path / "test"
    write_dataset(test, 6, size=(64, 64), seed=4)
    broken = sorted((test / "images").iterdir())[2]
    broken.write_bytes(b"not an image")
    out = tmp_path / "cmp"
    with pytest.raises(DataError, match=rf"{broken.name}: unreadable image"):
        compare(data, "resunet,fcn", out, test_data=test, latency=False, **TINY)
    assert not out.exists()  # no runs/<model>/ left behind
