"""``train/runner.py`` without training: the config records absolute data paths, and a run whose
recorded data folder is gone fails with one line naming config.json."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from edgeseg.config import load_config
from edgeseg.errors import DataError
from edgeseg.train.runner import TrainOptions, config_from_options, load_split


def test_config_records_absolute_data_paths(tmp_path, monkeypatch, synth_dir):
    monkeypatch.chdir(synth_dir.parent)
    manifest = synth_dir.parent / "subjects.csv"
    opt = TrainOptions(
        data=Path(synth_dir.name),
        out=tmp_path / "run",
        val_data=Path(".") / synth_dir.name,
        manifest=Path(manifest.name),
    )
    cfg = config_from_options(opt, "paired")
    assert cfg.data == str(synth_dir.resolve())
    assert cfg.val_data == str(synth_dir.resolve())
    assert cfg.manifest == str(manifest.resolve())
    assert (
        config_from_options(replace(opt, val_data=None, manifest=None), "paired").manifest is None
    )


def test_recorded_split_loads_from_another_folder(tmp_path, monkeypatch, synth_dir):
    """QAT and --resume reuse config.json's data: it must not depend on the current folder."""
    monkeypatch.chdir(synth_dir.parent)
    opt = TrainOptions(data=Path(synth_dir.name), out=tmp_path / "run", size=64)
    opt = replace(opt, subject_regex=r"^(s\d+)_")
    cfg, _, _ = load_split(config_from_options(opt, "paired"))
    cfg.save(tmp_path)
    monkeypatch.chdir(tmp_path)
    again, (train_x, _), (val_x, _) = load_split(load_config(tmp_path), resplit=False)
    assert (len(train_x), len(val_x)) == (cfg.train_frames, cfg.val_frames)
    assert again.train_subjects == cfg.train_subjects


def test_missing_recorded_data_is_one_line_naming_config(tmp_path, monkeypatch, synth_dir):
    opt = TrainOptions(data=synth_dir, out=tmp_path / "run", size=64, subject_regex=r"^(s\d+)_")
    cfg, _, _ = load_split(config_from_options(opt, "paired"))
    old = replace(cfg, data="../shared/data/usgra-seg/dataset")  # a run saved before the fix
    run = tmp_path / "run"
    old.save(run)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as info:
        load_split(load_config(run), resplit=False, run_dir=run)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("data folder ../shared/data/usgra-seg/dataset does not exist: ")
    assert str(run / "config.json") in message
    with pytest.raises(DataError, match="does not exist: pass --val-data DIR"):
        load_split(replace(cfg, val_data=str(tmp_path / "gone")))
