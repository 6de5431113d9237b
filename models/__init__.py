"""SARSense models: bundled ONNX files with their cards, and the offline training code (training/)."""
