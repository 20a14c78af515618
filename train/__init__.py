"""Host-side training: tf.data pipeline, models, losses, training loop, evaluation, QAT.

Modules here import TensorFlow lazily where they can; ``edgeseg.edge_runtime`` never imports them.
"""
