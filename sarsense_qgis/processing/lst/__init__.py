"""Land surface temperature: super-resolution, degradation for training, image quality."""
