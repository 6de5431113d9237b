"""Sea ice: concentration from a U-Net, receptive field, ice-chart classes, skill."""
