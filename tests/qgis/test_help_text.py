"""The help a person reads in the desktop, checked with Qt's own rich-text engine: every algorithm's and
workflow's help panel, every parameter's tooltip and every help page reads whole (a '<' in the text is a sign,
not the start of a tag that hides the rest), names parameters by their dialog labels (the id only in brackets
after the label, as the messages do) and cites papers by author and year."""

import html
import re

import pytest
from qgis.core import QgsProcessingModelAlgorithm

from sarsense.sarsense_qgis import help as shipped

#: Words that are quantities or bands as well as some algorithm's parameter id ('NDVI = (NIR − red)/(NIR + red)').
DOMAIN_TERMS = {"NIR", "RED", "DEM", "HH", "HV", "VV", "VH", "NDVI", "NDVH", "NDVV", "LST", "CT"}
#: A paper by an internal number ("000 eq. 2–3", "(004 §3.1)", '"000"') instead of its authors and year.
PAPER_CODE = re.compile(r"(?<![\w.,#/'-])(?<!\d )\"?0\d\d\"?(?=\s*(eq\.|§|table|fig|'s|\)|,|:))")


def words(text):
    return re.findall(r"\w+", text)


def qt_plain(rich):
    """What Qt's rich-text engine shows of ``rich``."""
    from qgis.PyQt.QtGui import QTextDocument
    doc = QTextDocument()
    doc.setHtml(rich)
    return doc.toPlainText()


def panel(alg):
    """The dialog's help panel as QGIS builds it: the name as a title, each line of the help a paragraph."""
    return f"<h2>{alg.displayName()}</h2>" + "".join(f"<p>{line}</p>" for line in alg.shortHelpString().split("\n"))


def lost_words(source, rich):
    """Words of the plain ``source`` that the rendered ``rich`` text does not show."""
    shown = set(words(qt_plain(rich)))
    return [w for w in words(source) if w not in shown]


def bare_ids(text, labels):
    """Parameter ids in ``text`` not written as 'Label (ID)' (code blocks and '--ID=' excepted)."""
    text = re.sub(r"\s+", " ", re.sub(r"```.*?```", "", text, flags=re.S))
    found = []
    for name, label in labels.items():
        # an upper-case id is an id wherever it stands, unless it is a quantity or band as well ('NDVH', a word of
        # its label 'NDVH stack'), which is an id only as `NDVH`; a workflow's lower-case id ('land') only as `land`
        word = name in DOMAIN_TERMS or re.search(rf"\b{re.escape(name)}\b", label) or not name.isupper()
        pattern = rf"(?<=`){re.escape(name)}(?=`)" if word else rf"(?<![\w-]){re.escape(name)}(?![\w=])"
        for m in re.finditer(pattern, text):
            before = text[:m.start()]
            if before.rstrip("`").endswith("--") or re.search(re.escape(label) + r"\*{0,2} ?\(`?$", before):
                continue
            found.append(f"{name}: …{text[max(0, m.start() - 40):m.end() + 20]}…")
    return found


def doc_sections():
    """``{anchor: markdown}`` of every help section of docs/*.md."""
    found = {}
    for page in shipped.pages_in_order():
        for name, lines in shipped.sections(page.read_text(encoding="utf-8")).items():
            found[name] = "\n".join(lines)
    return found


def algorithms(provider):
    return sorted(provider.algorithms(), key=lambda a: a.id())


def test_every_help_panel_and_tooltip_reads_whole_in_qt(sarsense):
    lost = {}
    for alg in algorithms(sarsense):
        source = html.unescape(alg.shortHelpString())
        assert len(words(source)) > 15, f"{alg.id()} has no useful help"
        if lost_words(source, panel(alg)):
            lost[alg.id()] = lost_words(source, panel(alg))[:8]
        for param in alg.parameterDefinitions():
            text = html.unescape(param.help())
            if lost_words(text, param.toolTip()):
                lost[f"{alg.id()}:{param.name()}"] = lost_words(text, param.toolTip())[:8]
    assert lost == {}, "text that Qt reads as markup vanishes from the dialog"


@pytest.mark.parametrize("name, rule", [("ricethreshold", "NDVH < Flooding threshold"),
                                        ("icechartclasses", "< 1/10 and bergy water → 0"),
                                        ("importsentinel1", "Output bands: '<pol> <quantity>'")])
def test_the_texts_that_lost_their_rule_show_it(sarsense, name, rule):
    """The three panels the issue found cut short show the sentence that used to vanish."""
    alg = sarsense.algorithm(name)
    assert rule in html.unescape(alg.shortHelpString())
    assert rule in qt_plain(panel(alg)).replace("\u2029", "\n")


def test_every_help_page_reads_whole_in_qt():
    sections = doc_sections()
    for file_name, text in shipped.build().items():
        name = file_name[:-len(".html")]
        source = sections.get(name, sections.get(f"workflow-{name}"))
        if source is None:
            continue
        source = re.sub(r"\]\([^)]*\)", "]", source)  # a link shows its text, not its target
        source = re.sub(r'<a id="[^"]+"></a>|^```\w*$', "", source, flags=re.M)
        assert lost_words(source, text) == [], file_name
        assert "**" not in qt_plain(text) and "`" not in qt_plain(text), f"{file_name}: Markdown left unread"


def test_help_names_parameters_by_their_dialog_labels(sarsense):
    sections = doc_sections()
    found = {}
    for alg in algorithms(sarsense):
        labels = {p.name(): p.description() for p in alg.parameterDefinitions()}
        texts = {"panel": html.unescape(alg.shortHelpString()),
                 "page": sections.get(alg.name(), sections.get(f"workflow-{alg.name()}", ""))}
        texts.update({f"help of {p.name()}": html.unescape(p.help()) for p in alg.parameterDefinitions()})
        for where, text in texts.items():
            if bare_ids(text, labels):
                found[f"{alg.id()} {where}"] = bare_ids(text, labels)
    assert found == {}, "write 'Label (ID)', as the dialog and the messages name a parameter"
    pages = [s for s in sections if not s.startswith("workflow")]
    assert {a.name() for a in sarsense.algorithms() if not isinstance(a, QgsProcessingModelAlgorithm)} <= set(pages)


def test_help_cites_papers_by_author_and_year(sarsense):
    found = []
    for alg in algorithms(sarsense):
        for where, text in [("panel", alg.shortHelpString())] + [(p.name(), p.help()) for p in
                                                                 alg.parameterDefinitions()]:
            found += [f"{alg.id()} {where}: {m.group(0)}" for m in PAPER_CODE.finditer(html.unescape(text))]
    for file_name, page in shipped.build().items():
        found += [f"{file_name}: {m.group(0)}" for m in PAPER_CODE.finditer(qt_plain(page))]
    assert found == []


def test_the_checks_catch_what_they_look_for():
    labels = {"T_FLOOD": "Flooding threshold", "NDVH": "NDVH stack", "land": "Land mask"}
    assert bare_ids("rice where NDVH < T_FLOOD on a date", labels) != []
    assert bare_ids("rice where NDVH < Flooding threshold (T_FLOOD); `--T_FLOOD=0.5`", labels) == []
    assert bare_ids("**Flooding threshold** (`T_FLOOD`), the land mask (`land`)", labels) != []
    assert bare_ids("land is charted 255; Land mask (`land`)", labels) == []
    assert bare_ids("`NDVH` (dated stack)", labels) != [] and bare_ids("NDVH stack (`NDVH`): NDVH < 0.5", labels) == []
    for code in ("(000 eq. 1)", "000 §2.1.4: NDVI", "004 table 1", "(Fayad et al. 2022, \"000\")", "004's eq. 5"):
        assert PAPER_CODE.search(code), code
    for fine in ("MOD11A1.006", "2 000 pixels", "IPF 003.31", "SIGRID-3 codes 00, 01, 02", "10 000 m"):
        assert not PAPER_CODE.search(fine), fine
    assert lost_words("NDVH < 0.5 and next < 0.6", "<p>NDVH < 0.5 and next < 0.6</p>") != []
