"""Sea-ice concentration (SIC) classes, their WMO colours, and the class weights of the training loss.

Stokholm et al. (2022), "AI4SeaIce: Toward solving ambiguous SAR textures in convolutional neural
networks for automatic sea ice concentration charting", IEEE TGRS 60, 4304013:

- §II.B: eleven classes for 0–100 % SIC in 10 % steps; "< 10 %" and bergy water count as
  open water (class 0), fast ice as 100 % (class 10); class 11 marks pixels without a chart
  (land, no data), which the loss ignores (weight 0).
- Eq. (1)–(2), median-frequency weighting (Eigen & Fergus 2015):
  ``w_c = median_freq / freq_c`` with ``freq_c = N_c / N_pixels`` over the valid pixels
  (class 11 left out and given weight 0).

Colours: WMO total-concentration colour code for ice charts (JCOMM Expert Team on Sea Ice,
*Ice Chart Colour Code Standard*, WMO/TD-No. 1215, 2014): ice free blue, 1–3/10 green,
4–6/10 yellow, 7–8/10 orange, 9–10/10 red.
"""

from __future__ import annotations

import numpy as np

#: Classes 0–10 = 0, 10, … 100 % SIC; the masked class of training (no chart) and the nodata value of maps.
N_SIC_CLASSES = 11
MASKED_CLASS = 11
NODATA = 255
#: Concentration (%) each class stands for: the quantity the expected-SIC output weights.
SIC_PERCENT = tuple(10 * k for k in range(N_SIC_CLASSES))
#: WMO/TD-No. 1215 total-concentration colours, by class (0–10).
WMO_COLOURS = ("#0064ff",) + ("#8cffa0",) * 3 + ("#ffff00",) * 3 + ("#ff7d07",) * 2 + ("#ff0000",) * 2


def class_name(k):
    """Legend text of SIC class ``k``: '0 % (ice free, < 10 %)', '40 %', '100 % (incl. fast ice)'."""
    if k == 0:
        return "0 % (ice free, < 10 %, bergy water)"
    if k == N_SIC_CLASSES - 1:
        return "100 % (10/10, incl. fast ice)"
    return f"{10 * k} %"


def class_table():
    """``[{"value", "name", "color", "quantity"}]`` of the 11 SIC classes (the map's class table and the
    bundled model's contract classes; ``quantity`` is the concentration in %)."""
    return [{"value": k, "name": class_name(k), "color": WMO_COLOURS[k], "quantity": SIC_PERCENT[k]}
            for k in range(N_SIC_CLASSES)]


def median_frequency_weights(counts, *, masked=MASKED_CLASS):
    """Class weights of the loss from pixel counts per class: Stokholm et al. (2022), eq. (1)–(2).

    ``counts[c]`` is the number of training pixels of class ``c`` (index ``masked`` the pixels
    without a chart). ``freq_c = N_c / N`` over the unmasked pixels, ``w_c = median(freq) / freq_c``;
    the median is over the classes present (a class without pixels has no frequency and gets
    weight 0, as the masked class does). Returns float64 weights, one per entry of ``counts``.
    """
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 1 or np.any(n < 0):
        raise ValueError("counts must be a 1-D list of non-negative pixel counts")
    keep = np.ones(n.size, bool)
    if masked is not None and 0 <= masked < n.size:
        keep[masked] = False
    present = keep & (n > 0)
    if not present.any():
        raise ValueError("no unmasked pixel to weigh the classes with")
    freq = n / n[keep].sum()
    w = np.zeros(n.size)
    w[present] = np.median(freq[present]) / freq[present]
    return w
