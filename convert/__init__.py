"""Host-side export of trained models to TensorFlow Lite (float32, float16, dynamic, int8)."""
