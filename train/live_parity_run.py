"""``edgeseg parity --float RUN_DIR --source CLIP``: the run's Keras models as live references.

The host-side half of parity without labels: loads the run's float model and, when the run has
one, its QAT model (the reference the int8 file must reproduce; the float model is then the
baseline, reported but not checked), wraps them as
:class:`~edgeseg.evaluation.live_run.Model` s prepared by the run's config, and hands over to
:func:`~edgeseg.evaluation.live_run.run_live_parity`. A float ``.tflite`` as the reference needs
none of this (and no TensorFlow): the CLI calls the evaluation module directly.
"""

from __future__ import annotations

from pathlib import Path

from edgeseg.config import load_config
from edgeseg.contract import FrameContract
from edgeseg.errors import ModelError
from edgeseg.evaluation.live_run import Model
from edgeseg.evaluation.predictions import keras_predictor
from edgeseg.train.parity_run import BATCH, FLOAT, QAT


def keras_references(run_dir: Path | str, qat: bool | None = None) -> tuple[list[Model], list[str]]:
    """(the run's Keras models as references, the names that are baselines).

    ``qat``: include ``RUN_DIR/qat/model_best.h5`` (None: when it exists); with it, the float
    model is a baseline.
    """
    import edgeseg.train.qat  # noqa: F401  (registers edgeseg QuantizeConfigs for loading)
    from edgeseg.train.serialization import load_model, model_path

    run_dir = Path(run_dir)
    cfg = load_config(run_dir)
    contract = FrameContract.from_run_config(cfg)
    qat_path = model_path(run_dir, "qat")
    use_qat = qat_path.is_file() if qat is None else bool(qat)
    if use_qat and not qat_path.is_file():
        raise ModelError(f"{run_dir} has no qat/model_best.h5: run `edgeseg qat {run_dir}` first")
    paths = {FLOAT: model_path(run_dir, "best"), **({QAT: qat_path} if use_qat else {})}
    models = [
        Model(name, contract, keras_predictor(load_model(path), batch_size=BATCH))
        for name, path in paths.items()
    ]
    return models, [FLOAT] if use_qat else []


__all__ = ["keras_references"]
