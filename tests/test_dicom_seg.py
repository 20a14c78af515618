"""DICOM SEG export: the SEG reads back (pydicom and highdicom) with the source's references,
its frames and segment labels, and the masks bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")
hd = pytest.importorskip("highdicom")

from edgeseg.contract import default_classes  # noqa: E402
from edgeseg.edge_runtime.dicom_seg import DicomSegWriter  # noqa: E402
from edgeseg.errors import ConfigError, DataError  # noqa: E402
from edgeseg.train.cine_dicom import write_dicom  # noqa: E402
from edgeseg.train.cine_writers import PHI_TEST_IDENTIFIERS  # noqa: E402

CLASSES = default_classes(["nerve", "vessel"])


def _frames(n: int, h: int = 24, w: int = 32) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, h, w), dtype=np.uint8)


def _masks(n: int, h: int = 24, w: int = 32, seed: int = 1) -> np.ndarray:
    """Random masks with one all-empty frame (the SEG keeps it)."""
    masks = (np.random.default_rng(seed).random((n, h, w, 2)) > 0.6).astype(np.uint8)
    masks[0] = 0
    return masks


def _single_frame_dicom(
    path: Path, h: int = 24, w: int = 32, series: tuple[str, str] | None = None, number: int = 1
) -> Path:
    """A single-frame US image (no NumberOfFrames), as older scanners store stills; ``series``:
    (study, series) UIDs shared with other files of a one-frame-per-file export."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, UltrasoundImageStorage, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = UltrasoundImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.StudyInstanceUID, ds.SeriesInstanceUID = series or (generate_uid(), generate_uid())
    ds.InstanceNumber = number
    ds.Modality = "US"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = h, w, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = _frames(1, h, w).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize(
    "syntax, n_classes", [("uncompressed", 2), ("jpeg", 2), ("uncompressed", 1)]
)
def test_multiframe_seg_reads_back(tmp_path: Path, syntax: str, n_classes: int) -> None:
    src_path = write_dicom(_frames(6), tmp_path / "cine.dcm", 25.0, syntax=syntax)
    src = pydicom.dcmread(src_path)
    masks = _masks(6)[..., :n_classes]
    kept = [0, 2, 3, 5]  # frames 1 and 4 were never segmented (e.g. dropped live)
    classes = CLASSES[:n_classes]
    writer = DicomSegWriter(src_path, tmp_path / "out" / "seg.dcm", classes)
    for i in kept:
        writer.add(i, masks[i])
    out = writer.write()

    seg = pydicom.dcmread(out)
    assert seg.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4"  # Segmentation Storage
    assert seg.SegmentationType == "BINARY"
    assert [s.SegmentLabel for s in seg.SegmentSequence] == [c.name for c in classes]
    assert int(seg.NumberOfFrames) == len(kept) * n_classes
    ref = seg.ReferencedSeriesSequence[0]
    assert ref.SeriesInstanceUID == src.SeriesInstanceUID
    assert ref.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    assert ref.ReferencedInstanceSequence[0].ReferencedSOPClassUID == src.SOPClassUID
    assert seg.StudyInstanceUID == src.StudyInstanceUID
    pixels = seg.pixel_array
    k = 0
    for i in kept:
        for s in range(n_classes):
            group = seg.PerFrameFunctionalGroupsSequence[k]
            source = group.DerivationImageSequence[0].SourceImageSequence[0]
            assert source.ReferencedSOPInstanceUID == src.SOPInstanceUID
            assert int(source.ReferencedFrameNumber) == i + 1
            assert group.SegmentIdentificationSequence[0].ReferencedSegmentNumber == s + 1
            np.testing.assert_array_equal(pixels[k], masks[i][..., s])
            k += 1

    # highdicom's own reader finds each source frame's masks
    back = hd.seg.segread(out)
    got = back.get_pixels_by_source_frame(
        src.SOPInstanceUID,
        source_frame_numbers=[i + 1 for i in kept],
        segment_numbers=list(range(1, n_classes + 1)),
    )
    np.testing.assert_array_equal(got, masks[kept])


def test_single_frame_source(tmp_path: Path) -> None:
    src_path = _single_frame_dicom(tmp_path / "still.dcm")
    mask = _masks(2)[1]
    writer = DicomSegWriter(src_path, tmp_path / "seg.dcm", CLASSES)
    writer.add(0, mask)
    seg = hd.seg.segread(writer.write())
    src = pydicom.dcmread(src_path)
    got = seg.get_pixels_by_source_instance([src.SOPInstanceUID], segment_numbers=[1, 2])
    np.testing.assert_array_equal(got[0], mask)


def test_series_folder_source(tmp_path: Path) -> None:
    """A one-frame-per-file export: the SEG references each file, in instance order."""
    from pydicom.uid import generate_uid

    uids = (generate_uid(), generate_uid())
    folder = tmp_path / "series"
    folder.mkdir()
    for number, name in ((3, "a.dcm"), (1, "b.dcm"), (2, "c.dcm")):  # names out of order
        _single_frame_dicom(folder / name, series=uids, number=number)
    order = ["b.dcm", "c.dcm", "a.dcm"]  # by InstanceNumber
    masks = _masks(3)
    writer = DicomSegWriter(folder, tmp_path / "seg.dcm", CLASSES)
    for i in (0, 2):
        writer.add(i, masks[i])
    out = writer.write()
    seg = pydicom.dcmread(out)
    sop = [pydicom.dcmread(folder / n).SOPInstanceUID for n in order]
    refs = seg.ReferencedSeriesSequence[0]
    assert refs.SeriesInstanceUID == uids[1]
    assert {r.ReferencedSOPInstanceUID for r in refs.ReferencedInstanceSequence} == {
        sop[0],
        sop[2],
    }
    frame_refs = [
        g.DerivationImageSequence[0].SourceImageSequence[0]
        for g in seg.PerFrameFunctionalGroupsSequence
    ]
    assert [r.ReferencedSOPInstanceUID for r in frame_refs] == [sop[0]] * 2 + [sop[2]] * 2
    assert not any("ReferencedFrameNumber" in r for r in frame_refs)
    got = hd.seg.segread(out).get_pixels_by_source_instance([sop[0], sop[2]])
    np.testing.assert_array_equal(got, masks[[0, 2]])


def test_seg_carries_the_patient_by_the_standard(tmp_path: Path) -> None:
    """The one output that names the patient: the SEG files beside its source images."""
    src_path = write_dicom(
        _frames(2), tmp_path / "cine.dcm", 25.0, identifiers=PHI_TEST_IDENTIFIERS
    )
    writer = DicomSegWriter(src_path, tmp_path / "seg.dcm", CLASSES)
    writer.add(1, _masks(2)[1])
    seg = pydicom.dcmread(writer.write())
    assert str(seg.PatientName) == PHI_TEST_IDENTIFIERS["PatientName"]
    assert seg.PatientID == PHI_TEST_IDENTIFIERS["PatientID"]


def test_bad_input(tmp_path: Path) -> None:
    not_dicom = tmp_path / "clip.dcm"
    not_dicom.write_bytes(b"not a dicom at all" * 20)
    with pytest.raises(ConfigError, match="not a DICOM file"):
        DicomSegWriter(not_dicom, tmp_path / "seg.dcm", CLASSES)
    src_path = write_dicom(_frames(3), tmp_path / "cine.dcm", 25.0)
    writer = DicomSegWriter(src_path, tmp_path / "seg.dcm", CLASSES)
    with pytest.raises(DataError, match="needs"):
        writer.add(0, np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(DataError, match="3 frame"):
        writer.add(3, _masks(4)[3])
    with pytest.raises(DataError, match="no frame was segmented"):
        writer.write()
    assert not (tmp_path / "seg.dcm").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cine.dcm", "clip.dcm"]


# --------------------------------------------------------------------------- edgeseg stream


@pytest.mark.slow
def test_stream_and_predict_write_the_seg_only_for_a_dicom_source(
    tmp_path: Path, tiny_tflite: dict[str, Path]
) -> None:
    pytest.importorskip("av")
    from typer.testing import CliRunner

    from edgeseg.cli import app

    src_path = write_dicom(_frames(5, 40, 48), tmp_path / "cine.dcm", 25.0)
    out, seg_path = tmp_path / "out", tmp_path / "seg" / "cine_seg.dcm"
    model = str(tiny_tflite["i8"])
    args = ["stream", model, "--source", str(src_path), "--out", str(out), "--masks"]
    result = CliRunner().invoke(app, [*args, "--dicom-seg", str(seg_path)])
    assert result.exit_code == 0, result.output
    assert f"DICOM SEG {seg_path}" in result.output
    seg = pydicom.dcmread(seg_path)
    src = pydicom.dcmread(src_path)
    assert int(seg.NumberOfFrames) == 5 and [s.SegmentLabel for s in seg.SegmentSequence] == [
        "nerve"
    ]
    refs = [
        g.DerivationImageSequence[0].SourceImageSequence[0]
        for g in seg.PerFrameFunctionalGroupsSequence
    ]
    assert {r.ReferencedSOPInstanceUID for r in refs} == {src.SOPInstanceUID}
    assert [int(r.ReferencedFrameNumber) for r in refs] == [1, 2, 3, 4, 5]
    # the SEG's masks are the stream's masks
    from PIL import Image

    written = sorted((out / "masks").glob("*.png"))
    assert len(written) == 5
    for k, png in enumerate(written):
        np.testing.assert_array_equal(seg.pixel_array[k], np.asarray(Image.open(png)) > 0)

    # edgeseg predict on the one DICOM file: the same masks, the same SEG frames
    pred_seg = tmp_path / "predict_seg.dcm"
    args = ["predict", model, str(src_path), "--out", str(tmp_path / "pred")]
    result = CliRunner().invoke(app, [*args, "--dicom-seg", str(pred_seg)])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(pydicom.dcmread(pred_seg).pixel_array, seg.pixel_array)
    two = CliRunner().invoke(app, [*args, str(src_path), "--dicom-seg", str(tmp_path / "y.dcm")])
    assert two.exit_code == 2 and "needs one DICOM file" in two.output
    assert not (tmp_path / "y.dcm").exists()

    (tmp_path / "clip.mp4").write_bytes(b"\0" * 64)
    bad = CliRunner().invoke(
        app,
        [
            "stream",
            model,
            "--source",
            str(tmp_path / "clip.mp4"),
            "--out",
            str(tmp_path / "out2"),
            "--dicom-seg",
            str(tmp_path / "x.dcm"),
        ],
    )
    assert bad.exit_code == 2
    assert "--dicom-seg needs a DICOM source" in bad.output
    assert not (tmp_path / "x.dcm").exists() and not (tmp_path / "out2").exists()


@pytest.mark.parametrize(
    "syntax, photometric", [("uncompressed", "RGB"), ("jpeg", "YBR_FULL_422"), ("rle", "YBR_FULL")]
)
def test_colour_and_16_bit_sources(tmp_path: Path, syntax: str, photometric: str) -> None:
    colour = np.random.default_rng(0).integers(0, 256, (3, 24, 32, 3), dtype=np.uint8)
    sources = [
        write_dicom(colour, tmp_path / "rgb.dcm", 25.0, syntax=syntax, photometric=photometric),
        write_dicom(
            np.random.default_rng(0).integers(0, 65536, (3, 24, 32), dtype=np.uint16),
            tmp_path / "gray16.dcm",
            25.0,
        ),
    ]
    masks = _masks(3)[..., :1]
    for src_path in sources:
        writer = DicomSegWriter(src_path, tmp_path / f"{src_path.stem}_seg.dcm", CLASSES[:1])
        for i in range(3):
            writer.add(i, masks[i])
        back = hd.seg.segread(writer.write())
        uid = pydicom.dcmread(src_path, stop_before_pixels=True).SOPInstanceUID
        got = back.get_pixels_by_source_frame(uid, source_frame_numbers=[1, 2, 3])
        np.testing.assert_array_equal(got, masks)
