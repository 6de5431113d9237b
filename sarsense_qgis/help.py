"""The help shipped with the plugin: one HTML page per algorithm and workflow, built from the pages in ``docs/``.

Each algorithm's section of a ``docs/*.md`` page starts with ``<a id="<name>"></a>`` and runs
to the next anchor or heading of the same or a higher level. The section anchored
``workflows`` (docs/getting_started.md) makes ``workflows.html``, with a link to every workflow; a section
anchored ``workflow-<file name>`` (a suite's page, one per ``resources/workflows/<file name>.model3``) makes
that workflow's page ``<file name>.html``; the README's opening (what SARSense is)
makes ``index.html`` with the list of pages. Every page of ``docs/``, the README and the model cards are also
shown whole (:func:`whole_page_name`), so that every link in the help leads to a help page or to the web, never
to a Markdown file the browser would show raw. ``python3 sarsense_qgis/help.py``
(``make help-pages``) writes them to ``resources/help/``; a test checks that the
shipped pages equal a fresh build, so the docs and the help never drift apart.
``helpUrl()`` of every algorithm and workflow points to its page, which QGIS opens
from the toolbox dialog's Help button.

Why by hand: the docs use a small subset of Markdown (headings, paragraphs,
lists, code, bold, links, tables); Python-Markdown is not part of QGIS's Python
on Debian, and a plugin should not need a package just for its help. No QGIS import.
"""

from __future__ import annotations

import html
import os
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MODELS = ROOT / "models"
#: The suites' pages in the order of the help index; every other ``docs/*.md`` page is read after them.
SUITE_PAGES = ("sar_preparation", "sentinel1", "neural_networks", "soil_moisture", "crop", "lst", "sea_ice")
HELP_DIR = ROOT / "resources" / "help"
WORKFLOWS = "workflows"
#: Pages of ``docs/`` shown whole in the help (``getting_started.md`` and any ``getting_started_<suite>.md``):
#: the plugin's menu opens ``getting_started.html``.
GETTING_STARTED = "getting_started"
_WORKFLOW_PREFIX = "workflow-"
_ANCHOR = re.compile(r'^<a id="([a-z0-9_-]+)"></a>\s*$')
_STYLE = ("body{font-family:sans-serif;max-width:52em;margin:1em auto;padding:0 1em;line-height:1.45}"
          "code,pre{background:#f4f4f4;border-radius:3px}pre{padding:.6em;overflow-x:auto}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}")


def help_path(name):
    """The help page of algorithm ``name`` (an existing file, or the index)."""
    page = HELP_DIR / f"{name}.html"
    return page if page.exists() else HELP_DIR / "index.html"


def help_url(name):
    """``file://`` URL of the help page of algorithm ``name``."""
    return help_path(name).as_uri()


def rich_text(text):
    """Plain text as the rich text Qt shows (help panels, tooltips): ``&``, ``<`` and ``>`` escaped, nothing else
    changed, so 'NDVH < 0.5' reads whole instead of starting a tag that hides the rest. Line breaks stay (QGIS
    makes each line of an algorithm's help a paragraph)."""
    return html.escape(text, quote=False)


def panel_text(text):
    """A help text as QGIS shows it: :func:`rich_text` in the desktop (the dialog's help panel and tooltips read
    HTML), the text itself under ``qgis_process``, which prints help as it is (QGIS 3.22), so that
    ``qgis_process help`` reads 'NDVH < 0.5', not 'NDVH &lt; 0.5'."""
    from qgis.core import QgsApplication  # here, not at the top: the help pages are built without QGIS

    return text if QgsApplication.platform() == "qgis_process" else rich_text(text)


def _inline(text, base=ROOT, targets=None):
    """HTML of one line of Markdown; relative links are resolved from ``base``, the folder of the page, and
    lead to a help page where ``targets`` has one (``{(docs page, anchor): help page}``)."""
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"(?<![*\w])\*([^*\s][^*]*)\*(?!\w)", r"<i>\1</i>", text)

    def link(m):
        target = m.group(2)
        if not re.match(r"^([a-z]+://|#)", target):  # a file of the plugin: relative, so it works wherever installed
            path, _, anchor = target.partition("#")
            path = pathlib.Path(os.path.normpath(base / path))
            found = (targets or {}).get((path, anchor))
            if not found and (targets or {}).get((path, "")):
                found = targets[(path, "")] + (f"#{anchor}" if anchor else "")
            target = found if found else os.path.relpath(path, HELP_DIR) + (f"#{anchor}" if anchor else "")
        return f'<a href="{target}">{m.group(1)}</a>'
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", link, text)


def markdown_to_html(lines, base=ROOT, targets=None):
    """HTML of Markdown lines (the subset the docs use); relative links are resolved from ``base`` (and lead to
    the help pages in ``targets``, see :func:`_inline`); an anchor line stays an anchor."""
    out, para, in_list, in_code, table = [], [], False, False, []
    ids = set()
    item = []  # the list item being read: its lines, rendered together (bold or a link may span lines)

    def inline(text):
        return _inline(text, base, targets)

    def close_item():
        if item:
            out.append("<li>" + inline(" ".join(item)) + "</li>")
            item.clear()

    def flush():
        nonlocal in_list
        if para:
            out.append("<p>" + inline(" ".join(para)) + "</p>")
            para.clear()
        close_item()
        if in_list:
            out.append("</ul>")
            in_list = False
        if table:
            rows = [r for r in table if not re.match(r"^\|[\s\-|:]+\|$", r)]
            cells = [[inline(c.strip()) for c in r.strip().strip("|").split("|")] for r in rows]
            body = "".join("<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{c}</{'th' if i == 0 else 'td'}>"
                                            for c in row) + "</tr>" for i, row in enumerate(cells))
            out.append(f"<table>{body}</table>")
            table.clear()

    for line in lines:
        if line.startswith("```"):
            if in_code:
                out.append("</pre>")
            else:
                flush()
                out.append("<pre>")
            in_code = not in_code
            continue
        if in_code:
            out.append(html.escape(line, quote=False))
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if _ANCHOR.match(line):
            flush()
            out.append(f'<span id="{_ANCHOR.match(line).group(1)}"></span>')  # a target, not a link without href
        elif heading:
            flush()
            level = len(heading.group(1))
            text = inline(heading.group(2))
            out.append(f'<h{level} id="{heading_id(text, ids)}">{text}</h{level}>')
        elif line.startswith("|"):
            if para:
                flush()
            table.append(line)
        elif re.match(r"^\s*[-*]\s+", line):
            if para:
                out.append("<p>" + inline(" ".join(para)) + "</p>")
                para.clear()
            if not in_list:
                out.append("<ul>")
                in_list = True
            close_item()
            item.append(re.sub(r"^\s*[-*]\s+", "", line))
        elif not line.strip():
            flush()
        elif in_list and line.startswith("  "):
            item.append(line.strip())
        else:
            if in_list or table:
                flush()
            para.append(line.strip())
    flush()
    return "\n".join(out)


def heading_id(text, taken=None):
    """The id of a heading as GitHub makes it (so that 'README.md#make-targets' finds 'Make targets'): its text,
    lower case, without punctuation, spaces as hyphens; '-1', '-2' … after an id already ``taken`` on the page."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text)).strip().lower()
    slug = re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", plain))
    found, n = slug, 0
    while taken is not None and found in taken:
        n += 1
        found = f"{slug}-{n}"
    if taken is not None:
        taken.add(found)
    return found


def sections(text):
    """``{name: [lines]}`` of every anchored section of a page (anchor to the next anchor or heading)."""
    found, name, level = {}, None, 0
    for line in text.splitlines():
        m = _ANCHOR.match(line)
        heading = re.match(r"^(#{1,6})\s", line)
        if m:
            name, level = m.group(1), 0
            found[name] = []
            continue
        if name is None:
            continue
        if heading:
            depth = len(heading.group(1))
            if level == 0:
                level = depth
            elif depth <= level:
                name = None
                continue
        found[name].append(line)
    return found


def page(title, body):
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n{body}\n"
            f'<hr><p><a href="index.html">All SARSense help</a></p></body></html>\n')


def pages_in_order(docs=DOCS):
    """The ``docs/*.md`` pages the help is built from: the suites' pages first, in index order, then the rest."""
    docs = pathlib.Path(docs)
    suites = [docs / f"{name}.md" for name in SUITE_PAGES if (docs / f"{name}.md").exists()]
    return suites + sorted(p for p in docs.glob("*.md") if p not in suites)


def section_page(name):
    """The help page a section anchored ``name`` makes: ``<name>.html``, and for ``workflow-<file name>`` the
    workflow's ``<file name>.html`` (named as its algorithm is, sarsense:<file name>, like every algorithm's)."""
    return f"{name[len(_WORKFLOW_PREFIX):] if name.startswith(_WORKFLOW_PREFIX) else name}.html"


def whole_pages(docs=DOCS, readme=README, models=MODELS):
    """The Markdown files shown whole in the help: every page of ``docs`` (the getting-started pages among them),
    the README and the model cards with their README."""
    docs, models = pathlib.Path(docs), pathlib.Path(models)
    return pages_in_order(docs) + [pathlib.Path(readme)] + sorted(models.glob("*.md"))


def whole_page_name(source, docs=DOCS, readme=README, models=MODELS):
    """The help page a Markdown file is shown whole on: ``docs/<page>.md`` → ``<page>.html``, the README →
    ``readme.html``, ``models/README.md`` → ``models.html``, a model card ``models/<name>.md`` →
    ``model_<name>.html``."""
    source = pathlib.Path(source)
    if source == pathlib.Path(readme):
        return "readme.html"
    if source.parent == pathlib.Path(models):
        return "models.html" if source.name == "README.md" else f"model_{source.stem}.html"
    return f"{source.stem}.html"


def _title(body, default):
    """(HTML, plain text) of a page body's first heading."""
    title = re.search(r"<h\d[^>]*>(.*?)</h\d>", body)
    return (title.group(1), html.unescape(re.sub(r"<[^>]+>", "", title.group(1)))) if title else (default, default)


def _targets(docs=DOCS, readme=README, models=MODELS):
    """``{(Markdown file, anchor): help page}``: where a link in the docs leads inside the help folder (a file to
    the page it is shown whole on, a section to the page built from it, the workflows section to
    ``workflows.html``; another anchor to that anchor on the whole page, :func:`_inline`)."""
    targets = {}
    for source in whole_pages(docs, readme, models):
        targets[(pathlib.Path(os.path.normpath(source)), "")] = whole_page_name(source, docs, readme, models)
    for source in pages_in_order(docs):
        path = pathlib.Path(os.path.normpath(source))
        for name in sections(source.read_text(encoding="utf-8")):
            if source.stem.startswith(GETTING_STARTED) and name != WORKFLOWS:
                continue  # a section of a page shown whole: the link stays on that page
            targets[(path, name)] = section_page(name)
    return targets


def build(docs=DOCS, readme=README, models=MODELS):
    """``{file name: HTML}`` of every help page, from the pages in ``docs``, the README and the model cards."""
    pages, items, seen = {}, [], {}
    workflows, workflow_items = None, []
    targets = _targets(docs, readme, models)
    for source in pages_in_order(docs):
        for name, lines in sections(source.read_text(encoding="utf-8")).items():
            if name in seen:
                raise ValueError(f"help anchor '{name}' is in both {seen[name].name} and {source.name}")
            seen[name] = source
            body = markdown_to_html(lines, base=source.parent, targets=targets)
            if name == WORKFLOWS:
                workflows = body
                continue
            file_name = section_page(name)
            if file_name in pages:
                raise ValueError(f"two help sections make {file_name} (the second in {source.name})")
            title, plain = _title(body, name)
            pages[file_name] = page(f"SARSense: {plain}", body)
            item = f'<li><a href="{file_name}">{title}</a></li>'
            (workflow_items if name.startswith(_WORKFLOW_PREFIX) else items).append(item)
    if workflows is not None or workflow_items:
        body = (workflows or "<h2>Workflows</h2>") + "\n<ul>" + "".join(workflow_items) + "</ul>"
        title, plain = _title(body, "Workflows")
        pages[f"{WORKFLOWS}.html"] = page(f"SARSense: {plain}", body)
        items.append(f'<li><a href="{WORKFLOWS}.html">{title}</a><ul>' + "".join(workflow_items) + "</ul></li>")
    documents = []
    for source in whole_pages(docs, readme, models):
        file_name = whole_page_name(source, docs, readme, models)
        if file_name in pages:
            raise ValueError(f"{source.name} shown whole would replace the help page {file_name}")
        body = markdown_to_html(source.read_text(encoding="utf-8").splitlines(), base=source.parent, targets=targets)
        title, plain = _title(body, source.stem)
        pages[file_name] = page(f"SARSense: {plain}" if not plain.startswith("SARSense") else plain, body)
        if not source.stem.startswith(GETTING_STARTED):
            documents.append(f'<li><a href="{file_name}">{title}</a></li>')
    text = pathlib.Path(readme).read_text(encoding="utf-8")
    intro = text.split("\n## ", 1)[0].split("\n", 1)[1]
    start = "".join(f'<li><a href="{name}">{_title(pages[name], name)[0].replace("SARSense: ", "")}</a></li>'
                    for name in sorted(pages) if name.startswith(GETTING_STARTED))
    pages["index.html"] = page("SARSense help", "<h1>SARSense</h1>\n" +
                               markdown_to_html(intro.splitlines(), base=pathlib.Path(readme).parent, targets=targets) +
                               (f"\n<h2>Getting started</h2>\n<ul>{start}</ul>" if start else "") +
                               "\n<h2>Algorithms and workflows</h2>\n<ul>" + "".join(items) + "</ul>" +
                               "\n<h2>Documentation</h2>\n<ul>" + "".join(documents) + "</ul>")
    return pages


def write(folder=HELP_DIR):
    os.makedirs(folder, exist_ok=True)
    built = build()
    for name, text in built.items():
        pathlib.Path(folder, name).write_text(text, encoding="utf-8")
    return sorted(built)


if __name__ == "__main__":
    names = write(sys.argv[1] if len(sys.argv) > 1 else HELP_DIR)
    print(f"wrote {len(names)} help pages to {HELP_DIR}")
