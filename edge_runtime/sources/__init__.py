"""Frame sources: folders, video files, DICOM, multi-page TIFF and live devices, one interface."""

from edgeseg.edge_runtime.sources.base import FrameSource, SourceFrame

__all__ = ["FrameSource", "SourceFrame"]
