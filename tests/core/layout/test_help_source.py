"""Help text is escaped in one place: no algorithm returns its own rich text (it gives plain ``help_text`` and the
base class escapes it), and the pages the help is built from cite papers by author and year."""

import ast
import pathlib
import re

from helpers import REPO

from sarsense.sarsense_qgis import help as shipped

#: A paper by an internal number ("000 eq. 2–3", "(004 §3.1)", '"000"') instead of its authors and year.
PAPER_CODE = re.compile(r"(?<![\w.,#/'-])(?<!\d )\"?0\d\d\"?(?=\s*(eq\.|§|table|fig|'s|\)|,|:))")


def test_rich_text_escapes_what_qt_reads_as_markup():
    assert shipped.rich_text("NDVH < 0.5 & next > 0.6") == "NDVH &lt; 0.5 &amp; next &gt; 0.6"
    assert shipped.rich_text("a\n\nb 'c' \"d\"") == "a\n\nb 'c' \"d\"", "line breaks and quotes stay"


def test_no_algorithm_bypasses_the_escaping():
    """Every algorithm gives plain ``help_text``; only the base class defines ``shortHelpString`` (and the
    provider's Workflow, which escapes the model's description the same way)."""
    allowed = {REPO / "sarsense_qgis" / "processing" / "base.py", REPO / "sarsense_qgis" / "provider.py"}
    found = []
    for path in sorted((REPO / "sarsense_qgis").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name in ("shortHelpString", "helpString") and \
                    path not in allowed:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr == "setHelp" and path not in allowed:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} (setHelp outside SarsenseAlgorithm.add)")
    assert found == []


def test_docs_cite_papers_by_author_and_year():
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "models").glob("*.md"))]
    found = [f"{p.relative_to(REPO)}: {m.group(0)!r} in …{p.read_text(encoding='utf-8')[m.start() - 30:m.end() + 10]}…"
             for p in pages for m in PAPER_CODE.finditer(p.read_text(encoding="utf-8"))]
    assert found == []
    code = [f"{p.relative_to(REPO)}: {m.group(0)}" for p in sorted((REPO / "algorithms").rglob("*.py")) +
            sorted((REPO / "sarsense_qgis").rglob("*.py")) for m in PAPER_CODE.finditer(p.read_text(encoding="utf-8"))]
    assert code == [], "docstrings cite the paper too (STYLE.md §2)"


def test_the_paper_code_pattern_finds_codes_and_nothing_else():
    for text in ("(000 eq. 1)", "000 §2.1.4: water", "004 table 1: SM", '(Fayad et al. 2022, "000")', "004's eq. 5"):
        assert PAPER_CODE.search(text), text
    for text in ("MOD11A1.A2019305.h14v09.006.2019306084028.hdf", "2 000 pixels", 'ipf="003.31"', "codes 00, 01, 02",
                 "#000000", "x = 0.004"):
        assert not PAPER_CODE.search(text), text


def test_each_workflow_has_one_help_section():
    stems = sorted(p.stem for p in (REPO / "resources" / "workflows").glob("*.model3"))
    anchors = []
    for page in shipped.pages_in_order():
        anchors += [a for a in shipped.sections(page.read_text(encoding="utf-8")) if a.startswith("workflow-")]
    assert sorted(anchors) == [f"workflow-{s}" for s in stems]
    assert all(f"{s}.html" in shipped.build() for s in stems)
    assert pathlib.Path(shipped.help_path("no_such_page")).name == "index.html"


def test_every_link_in_the_help_leads_to_a_help_page_or_the_web():
    """Links to README, Conventions, Performance, Development and the suite pages opened raw Markdown
    ('../../docs/*.md'); an anchor without href read as an empty link. Every page as built: every <a> has an href,
    to an external URL or to a built page (and an id on it where the link names one)."""
    built = shipped.build()
    ids = {name: set(re.findall(r'\sid="([^"]+)"', text)) for name, text in built.items()}
    bad = []
    for name, text in built.items():
        for tag in re.findall(r"<a\b[^>]*>", text):
            href = re.search(r'\shref="([^"]*)"', tag)
            target = href.group(1) if href else ""
            if re.match(r"^(https?|mailto)://|^mailto:", target):
                continue
            page, _, anchor = target.partition("#")
            page = page or name
            if not target or page not in built or (anchor and anchor not in ids[page]):
                bad.append(f"{name}: {tag}")
    assert bad == []
    for wanted in ("readme.html", "conventions.html", "performance.html", "development.html", "crop.html",
                   "models.html"):
        assert wanted in built and f'href="{wanted}' in built["index.html"], wanted


def test_the_link_check_finds_what_it_looks_for():
    assert shipped._inline("[C](docs/conventions.md)", base=REPO) == '<a href="../../docs/conventions.md">C</a>'
    targets = shipped._targets()
    assert shipped._inline("[C](docs/conventions.md#networks)", base=REPO, targets=targets) == \
        '<a href="conventions.html#networks">C</a>'
    assert shipped.heading_id("<code>make</code> targets &amp; more!") == "make-targets--more"
