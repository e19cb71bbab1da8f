"""Workshop handouts (`make handouts`): the executed notebooks as HTML with an index page, the
instructor's kit from docs/, and practice copies with outputs cleared and solutions taken out.

Every page is a single file (plots and pictures are embedded), so the handouts open from a file
manager or a USB stick with no server and no network. A page shows what the learner saw: widgets,
which need a live kernel, are drawn statically (the credentials form as its screenshot, a tqdm bar
as its text says it ended), and solutions sit in closed "Solution" blocks.
"""

from __future__ import annotations

import argparse
import base64
import html
import re
import sys
import zipfile
from pathlib import Path

import localbatch.lean_imports  # noqa: F401 (before nbformat: jsonschema without the IRI grammar)

# isort: split
import mistune
import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter

from helpers.credentials import form_text
from helpers.language import translate  # the handouts' words: locale/cs/helpers.po

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# The markdown pages rendered beside the notebooks, in the order the index lists them, and the
# words of the pages themselves, per edition (the Czech one is built from notebooks/cs/).
DOC_PAGES = {"en": ("what-the-original-sample-got-wrong", "cheat-sheet", "troubleshooting",
                    "instructor-notes", "workshop", "before-the-class", "feedback"),
             "cs": ("cs/tahak", "cs/reseni-problemu", "cs/glosar", "cs/pred-kurzem",
                    "cs/zpetna-vazba")}
FORM_PICTURE = "docs/credentials-form.png"
# The Czech handouts show the Czech form (taken by tests/browser/test_jupyterlab.py in the Czech
# edition, committed as the English one is): its alt text is the English one's, translated.
CZECH_FORM_PICTURE = "docs/cs/credentials-form.png"
# The form's text output: the widget's repr, or the sentence helpers/credentials.py gives it.
FORM_REPR = "CredentialsForm("
CDN_SCRIPT = re.compile(r'<script src="https://[^"]*"[^>]*>\s*</script>')
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# A widget's text form: `CredentialsForm(children=(…`, `IntSlider(value=3, …`, `Widget(…`.
WIDGET_REPR = re.compile(r"^[A-Z]\w*\((children|value|description|layout|options)=|^Widget\(")
# A tqdm bar's text form: `completed: 100%|██████████| 5/5 [00:01<00:00, 4.2task/s]`
# (run_notebooks.py writes the bar's last state there, from the widget state it then drops).
TQDM_REPR = re.compile(
    r"^(?:(?P<desc>.*?):\s*)?(?P<pct>\d+)%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)\b")
PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.5}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:.3rem .5rem;
vertical-align:top}} code{{background:#f3f3f3;padding:0 .2rem}} img{{max-width:100%}}
li.task-list-item{{list-style:none}}
@media print{{body{{font-size:8.5pt;line-height:1.25;margin:0;max-width:none}}
h1{{font-size:13pt;margin:0 0 .3rem}} h2{{font-size:10pt;margin:.5rem 0 .2rem}}
td,th{{padding:.05rem .25rem}} pre{{margin:.2rem 0}}}}</style></head>
<body>{body}</body></html>
"""
# mistune.html's plugins, and task lists: the checklists print as boxes to tick.
MARKDOWN = mistune.create_markdown(escape=False, plugins=["strikethrough", "footnotes", "table",
                                                          "speedup", "task_lists"])
# nbconvert's lab template, with solution cells in a closed <details> and alt text on images.
TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block codecell %}
{%- if 'solution' in cell.metadata.get('tags', []) -%}
<details class="solution"><summary>{{ resources.solution_label }}</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{% endblock codecell %}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ output.metadata.get('alt', '') | escape_html }}">
</div>
{% endblock data_png %}
{% block data_jpg scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/jpeg;base64,{{ output.data['image/jpeg'] | escape_html }}"
 alt="{{ output.metadata.get('alt', '') | escape_html }}">
</div>
{% endblock data_jpg %}
"""


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """Tagged `solution`, or (the older convention) a code cell whose first line is '# Solution'."""
    return cell.cell_type == "code" and (
        "solution" in cell.metadata.get("tags", [])
        or cell.source.lstrip().startswith("# Solution"))


def title_and_summary(notebook: nbformat.NotebookNode) -> tuple[str, str]:
    """The first heading, and the first sentence of the paragraph under it."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            heading, _, rest = cell.source.strip().partition("\n")
            return heading.lstrip("# ").strip(), first_sentence(rest)
    return "", ""


def first_sentence(markdown: str) -> str:
    paragraph = re.split(r"\n\s*\n", markdown.strip())[0].replace("\n", " ")
    return re.sub(r"[*`]", "", re.split(r"(?<=[.!?])\s", paragraph)[0].rstrip(":"))


def readme_pictures() -> dict[str, str]:
    """The README's screenshots, path → alt text: one description for README and handouts."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return {path: alt for alt, path in re.findall(r"!\[([^\]]+)\]\((docs/[^)\s]+\.png)\)", readme)}


def form_picture(language: str) -> str:
    return CZECH_FORM_PICTURE if language == "cs" else FORM_PICTURE


def shown_pictures(language: str) -> dict[str, str]:
    """The screenshots a handout shows, path → alt text in its language: the README's, and in
    the Czech edition only its own form (the README's plots are the English edition's)."""
    pictures = readme_pictures()
    if FORM_PICTURE not in pictures:
        raise SystemExit(f"README.md no longer shows {FORM_PICTURE}: the handouts use it, with "
                         "its alt text, for the credentials form.")
    if language == "cs":
        return {CZECH_FORM_PICTURE: translate(pictures[FORM_PICTURE], language)}
    return pictures


def picture(path: str, alt: str) -> str:
    data = base64.b64encode((ROOT / path).read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def static_output(output: nbformat.NotebookNode, pictures: dict[str, str], language: str
                  ) -> nbformat.NotebookNode:
    """A widget output as the learner saw it after the run; any other output unchanged."""
    data = output.get("data", {})
    data.pop(WIDGET_VIEW, None)  # its state is not saved: nothing could draw it
    text = "".join(data.get("text/plain", ""))
    if text.startswith(FORM_REPR) or text == form_text(language):
        form = form_picture(language)
        shown = picture(form, pictures[form]) + "<p><em>" + translate(
            "The form after <b>Connect</b> (a screenshot: the form needs a running notebook).",
            language) + "</em></p>"
    elif bar := TQDM_REPR.match(text):
        n, total, desc = int(bar["n"]), int(bar["total"]), html.escape(bar["desc"] or "")
        shown = (f'<p class="progress">{desc}: <progress value="{n}" max="{total}"></progress>'
                 f' {bar["pct"]}% {n}/{total}</p>')
    elif WIDGET_REPR.match(text):
        shown = "<p><em>" + translate(
            "(An interactive widget: open the notebook in JupyterLab to use it.)", language) + \
            "</em></p>"
    else:
        return output
    return nbformat.v4.new_output("display_data", data={"text/html": shown})


def for_the_page(notebook: nbformat.NotebookNode, pictures: dict[str, str], language: str
                 ) -> None:
    """Widgets drawn statically, solutions tagged for the template, images given alt text
    (the heading above them, and the first sentence of the text just before)."""
    notebook.metadata.pop("widgets", None)
    heading, context = title_and_summary(notebook)[0], ""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.strip().splitlines()
            if lines and lines[0].startswith("#"):
                heading, lines = lines[0].lstrip("# ").strip(), lines[1:]
            context = first_sentence("\n".join(lines))
        if cell.cell_type != "code":
            continue
        if is_solution(cell) and "solution" not in cell.metadata.get("tags", []):
            cell.metadata.setdefault("tags", []).append("solution")
        cell.outputs = [static_output(o, pictures, language) for o in cell.get("outputs", [])]
        for output in cell.outputs:
            if {"image/png", "image/jpeg"} & set(output.get("data", {})):
                output.setdefault("metadata", {})["alt"] = \
                    translate("Plot: {heading}", language).format(heading=heading) + \
                    (f". {context}" if context else "")


def practice_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Outputs cleared; solution cells taken out."""
    copy = nbformat.from_dict(notebook)
    copy.cells = [c for c in copy.cells if not is_solution(c)]
    for cell in copy.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return copy


def download_link(path: Path, label: str) -> str:
    """A link that saves the notebook: the file itself inside, as a data: URL, because a browser
    shows a file: link's JSON as a page, `download` attribute or not."""
    data = base64.b64encode(path.read_bytes()).decode()
    return (f'<a href="data:application/x-ipynb+json;base64,{data}" download="{path.name}">'
            f"{label}</a>")


def doc_page(name: str, language: str) -> tuple[str, str]:
    """A docs/ markdown file as a handout page (links to its sibling docs kept working)."""
    text = (DOCS / f"{name}.md").read_text(encoding="utf-8")
    body = MARKDOWN(text)
    for other in DOC_PAGES[language]:
        body = body.replace(f'href="{Path(other).name}.md', f'href="{Path(other).name}.html')
    for other in DOC_PAGES["en"]:  # a Czech page's links to English ones, one folder up
        body = body.replace(f'href="../{other}.md', f'href="../{other}.html')
    return text.splitlines()[0].lstrip("# ").strip(), body


def build(source: Path, out: Path, language: str = "en") -> Path:
    paths = sorted(source.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise SystemExit(f"No notebooks in {source}: run `make tutorial` first.")
    pictures = shown_pictures(language)
    (out / "practice").mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab", template_file="handout.j2", embed_images=True,
                            extra_loaders=[DictLoader({"handout.j2": TEMPLATE})])
    rows = []
    with zipfile.ZipFile(out / "practice.zip", "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in paths:
            notebook = nbformat.read(path, as_version=4)
            practice = out / "practice" / path.name
            nbformat.write(practice_copy(notebook), practice)
            bundle.write(practice, f"practice/{path.name}")
            for_the_page(notebook, pictures, language)
            body, _ = exporter.from_notebook_node(
                notebook, resources={"solution_label": translate("Solution", language)})
            body = CDN_SCRIPT.sub("", body)  # require.js and MathJax: not needed, and offline
            (out / f"{path.stem}.html").write_text(body, encoding="utf-8")
            title, summary = title_and_summary(notebook)
            rows.append(f'<li><a href="{path.stem}.html">{html.escape(title)}</a>: '
                        f"{html.escape(summary)} "
                        f"({download_link(practice, translate('practice copy', language))})</li>")
    docs = []
    for name in DOC_PAGES[language]:
        title, body = doc_page(name, language)
        page = Path(name).name
        (out / f"{page}.html").write_text(PAGE.format(title=html.escape(title), body=body,
                                                      lang=language), encoding="utf-8")
        docs.append(f'<li><a href="{page}.html">{html.escape(title)}</a></li>')
    shots = "".join(f"<figure>{picture(path, alt)}<figcaption>{html.escape(alt)}</figcaption>"
                    "</figure>" for path, alt in pictures.items())
    title = translate("Batch Notebooks: handouts", language)
    intro = translate("Convert videos in parallel with Azure Batch, one notebook per step. Each "
                      "page is the notebook as it ran; the practice copies have their outputs "
                      "cleared and the exercises' solutions taken out.", language)
    index = (f"<h1>{title}</h1><p>{intro}</p>"
             f"<ol start=\"0\">{''.join(rows)}</ol>"
             f'<p><a href="practice.zip" download>'
             f'{translate("All practice copies (zip)", language)}</a></p>'
             f"<h2>{translate('For the class', language)}</h2><ul>{''.join(docs)}</ul>"
             f"<h2>{translate('Screenshots', language)}</h2>{shots}")
    (out / "index.html").write_text(PAGE.format(title=title, body=index, lang=language),
                                    encoding="utf-8")
    return out / "index.html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=ROOT / "notebooks",
                        help="executed notebooks (default: the committed ones)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "handouts")
    args = parser.parse_args()
    print(f"Handouts: {build(args.source, args.out)}")
    if any((args.source / "cs").glob("[0-9][0-9]_*.ipynb")):  # the Czech edition, if it ran
        print(f"Czech handouts: {build(args.source / 'cs', args.out / 'cs', 'cs')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
