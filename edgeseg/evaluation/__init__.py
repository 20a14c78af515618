"""Host-side evaluation: parity of a converted model with its references, verdicts, reports.

numpy + Pillow (+ scipy for the paired tests); never TensorFlow, so it runs wherever the
predictions come from. ``edgeseg.edge_runtime`` is what a device runs; this package is not.
"""
