"""Device-side runtime: numpy, Pillow and a LiteRT interpreter only. Never imports TensorFlow."""
