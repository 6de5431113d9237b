"""The Processing toolbox (issue #27): developer tools in a group of their own, and NDVI and terrain normalisation
found by the words a user types in the toolbox's search box (QGIS's own toolbox model and filter)."""

import pytest


def _search(text):
    """Ids of the SARSense algorithms QGIS's toolbox shows for the search ``text``."""
    from qgis.core import QgsApplication
    from qgis.gui import QgsProcessingToolboxModel, QgsProcessingToolboxProxyModel

    model = QgsProcessingToolboxModel(None, QgsApplication.processingRegistry())
    proxy = QgsProcessingToolboxProxyModel(None, QgsApplication.processingRegistry())
    proxy.setFilterString(text)
    found, stack = set(), [proxy.index(r, 0) for r in range(proxy.rowCount())]
    while stack:
        idx = stack.pop()
        alg = proxy.toolboxModel().algorithmForIndex(proxy.mapToSource(idx))
        if alg is not None and alg.provider().id() == "sarsense":
            found.add(alg.id())
        stack.extend(proxy.index(r, 0, idx) for r in range(proxy.rowCount(idx)))
    del model
    return found


def test_developer_tools_have_their_own_group(sarsense):
    groups = {}
    for alg in sarsense.algorithms():
        groups.setdefault((alg.groupId(), alg.group()), set()).add(alg.name())
    assert groups[("developertools", "Developer tools")] == {"unetreceptivefield"}
    assert "unetreceptivefield" not in groups[("seaice", "Sea ice")]


@pytest.mark.parametrize("text,alg", [
    ("NDVI", "ndvi"), ("vegetation index", "ndvi"), ("normalized difference vegetation", "ndvi"),
    ("terrain", "terrainflatten"), ("normalisation", "terrainflatten"), ("normalization", "terrainflatten"),
    ("flattening", "terrainflatten"), ("terrain flattening", "terrainflatten"),
    ("radiometric terrain", "terrainflatten"),
    ("receptive field", "unetreceptivefield")])
def test_the_toolbox_search_finds_them_by_natural_words(sarsense, text, alg):
    assert f"sarsense:{alg}" in _search(text)
