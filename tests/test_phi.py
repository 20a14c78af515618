"""No patient data out: a DICOM cine whose header names a patient goes through predict, stream
(overlay MP4, CSV, masks, summary), parity without labels and its report; no file written, no
file name and no line on stdout or stderr may carry any of the header's identifiers. The one
exception is the DICOM SEG asked for with ``--dicom-seg``: by the standard it names the patient
(it is filed beside the source images), and it must be the only file that does. A frame flagged
``BurnedInAnnotation = YES`` gives a warning line.

Each command runs as its own process (``python -m edgeseg.cli``), so the check sees exactly
what a user's terminal and disk would: progress lines, warnings from native libraries, logs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pydicom")
pytest.importorskip("av")

from edgeseg.train.cine import synth_cine  # noqa: E402
from edgeseg.train.cine_dicom import write_dicom  # noqa: E402
from edgeseg.train.cine_writers import PHI_TEST_IDENTIFIERS  # noqa: E402


def _needles() -> list[bytes]:
    """Every identifier as it could appear in text: the header value, each name component,
    dates also as ISO dates; in UTF-8, UTF-16 (either byte order) and case-folded forms."""
    values = set()
    for keyword, value in PHI_TEST_IDENTIFIERS.items():
        values.add(value)
        if keyword == "PatientName":
            values.update(part for part in value.split("^") if part)
            values.add(value.replace("^", " "))
        if keyword.endswith("Date"):
            values.add(f"{value[:4]}-{value[4:6]}-{value[6:]}")
    needles = set()
    for value in values:
        for text in (value, value.lower(), value.upper()):
            needles.update(
                (text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-16-be"))
            )
    return sorted(needles)


NEEDLES = _needles()


def _leaks(data: bytes) -> list[bytes]:
    low = data.lower()
    return [n for n in NEEDLES if n in data or n.lower() in low]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("EDGESEG_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "edgeseg.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def phi_cine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-frame phantom cine as multi-frame DICOM with a patient's identifiers in its header
    and burned-in annotation flagged."""
    cine = synth_cine(12, (64, 80), seed=5)
    path = tmp_path_factory.mktemp("phi") / "cine.dcm"
    write_dicom(
        cine.frames,
        path,
        cine.fps,
        identifiers=PHI_TEST_IDENTIFIERS,
        burned_in_annotation=True,
    )
    assert _leaks(path.read_bytes()), "the test DICOM must carry the identifiers"
    return path


@pytest.mark.slow
def test_nothing_written_or_printed_names_the_patient(
    tmp_path: Path, phi_cine: Path, tiny_tflite: dict[str, Path]
) -> None:
    i8, f32 = str(tiny_tflite["i8"]), str(tiny_tflite["f32"])
    cine = str(phi_cine)
    outputs = {
        "predict": tmp_path / "predict",
        "stream": tmp_path / "stream",
        "realtime": tmp_path / "realtime",
        "parity": tmp_path / "parity",
    }
    seg = tmp_path / "archive" / "cine_seg.dcm"
    commands = {
        "predict": ["predict", i8, cine, "--out", str(outputs["predict"])],
        "stream": [
            "stream",
            i8,
            "--source",
            cine,
            "--out",
            str(outputs["stream"]),
            "--masks",
            "--dicom-seg",
            str(seg),
        ],
        "realtime": [
            "stream",
            i8,
            "--source",
            cine,
            "--out",
            str(outputs["realtime"]),
            "--realtime",
        ],
        "parity": [
            "parity",
            "--float",
            f32,
            "--tflite",
            i8,
            "--source",
            cine,
            "--out",
            str(outputs["parity"]),
            "--block",
            "3",
        ],
    }
    results = {name: _run(args, tmp_path) for name, args in commands.items()}

    for name, res in results.items():
        ok = {0, 1, 3} if name == "parity" else {0}  # parity's exit code is its verdict
        text = (res.stdout + res.stderr).decode("utf-8", "replace")
        assert res.returncode in ok, f"{name} exited {res.returncode}: {text}"
        for stream_name, data in (("stdout", res.stdout), ("stderr", res.stderr)):
            assert not _leaks(data), f"{name} {stream_name} names the patient: {_leaks(data)}"
        # the burned-in flag is one warning line, naming the source by its hash only
        warnings = [
            line
            for line in res.stderr.decode("utf-8", "replace").splitlines()
            if "BurnedInAnnotation" in line
        ]
        assert len(warnings) == 1 and warnings[0].startswith("edgeseg: warning: dicom-"), (
            name,
            text,
        )

    written = []
    for name, folder in outputs.items():
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert files, f"{name} wrote nothing into {folder}"
        written += files
    kinds = {p.suffix for p in written}
    assert {".mp4", ".csv", ".png", ".json", ".html"} <= kinds, kinds
    for path in written:
        rel = str(path.relative_to(tmp_path)).encode("utf-8")
        assert not _leaks(rel), f"file name {rel!r} names the patient"
        assert not _leaks(path.read_bytes()), (
            f"{path} names the patient: {_leaks(path.read_bytes())}"
        )
    # every item a command wrote is accounted for: nothing was left beside the outputs
    top = sorted(p.name for p in tmp_path.iterdir())
    assert top == sorted(["archive", *outputs]), top

    # The one exception, asked for explicitly: the DICOM SEG names the patient, by the standard.
    import pydicom

    assert _leaks(seg.read_bytes()), "the byte scan finds the identifiers where they are"
    back = pydicom.dcmread(seg)
    assert str(back.PatientName) == PHI_TEST_IDENTIFIERS["PatientName"]
    assert back.PatientID == PHI_TEST_IDENTIFIERS["PatientID"]
    assert sorted(p.name for p in seg.parent.iterdir()) == ["cine_seg.dcm"]


def test_needles_catch_the_forms_a_leak_takes() -> None:
    """The check itself: a name component, an ISO date or UTF-16 text is caught; clean text not."""
    name = PHI_TEST_IDENTIFIERS["PatientName"].split("^")[1]
    born = PHI_TEST_IDENTIFIERS["PatientBirthDate"]
    iso = f"{born[:4]}-{born[4:6]}-{born[6:]}"
    for leaked in (
        f"frame 3 of {name}".encode(),
        f'{{"born": "{iso}"}}'.encode(),
        PHI_TEST_IDENTIFIERS["InstitutionName"].upper().encode(),
        PHI_TEST_IDENTIFIERS["AccessionNumber"].encode("utf-16-le"),
    ):
        assert _leaks(leaked), leaked
    clean = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert not _leaks(b"streamed 12 frames of dicom-9f3439acae3a at 20 FPS" + clean)
