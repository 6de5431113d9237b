"""Neural networks: a SARSense ONNX model applied to rasters."""
