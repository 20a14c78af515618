"""edgeseg: ultrasound nerve segmentation from training to a tablet."""

__version__ = "0.1.0"
