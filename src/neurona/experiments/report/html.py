"""HTML pieces of the reproduction report: escaping, tables, embedded figures, the page around the sections.

Everything is embedded (PNG as base64 data URIs, SVG inline), so the page opens offline.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1150px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { border-bottom: 1px solid #bbb; margin-top: 2.2em; padding-bottom: .15em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 0.9em; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: .3em .5em; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f0f0f0; overflow-wrap: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; overflow-wrap: normal; white-space: nowrap; }
.beats { background: #d9f2d9; } .matches { background: #eef7d9; } .below { background: #fbe3d6; }
.box { padding: .6em 1em; margin: .8em 0; border-left: 4px solid #e0a800; background: #fff3cd; }
.box.note { border-left-color: #5b8def; background: #e8f0fe; }
.box.failed, .box.interrupted { border-left-color: #c00; background: #fde2e2; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: .88em; color: #555; }
figure.graph svg { display: block; max-width: 100%; height: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: .4em 1em; }
.grid figure { margin: .3em 0; }
code { background: #f2f2f2; padding: 0 .25em; border-radius: 3px; font-size: .92em; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: .85em; }
.note { color: #444; font-size: .92em; } .muted { color: #777; font-size: .88em; }
nav ul { columns: 2; }
@media (max-width: 900px) {
  body { padding: 0 .5em; } table { font-size: .78em; } th, td { padding: .25em .3em; } nav ul { columns: 1; }
}
@media print {
  body { max-width: none; } figure, table tr { break-inside: avoid; } h2, h3 { break-after: avoid; }
  figure.graph svg { max-width: 100%; max-height: 22cm; width: auto; height: auto; }  /* a tall graph fits one page */
}
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def prose(value) -> str:
    """Escaped text in which `backticked` commands become <code> (so no literal backticks reach the page)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(value))


def pct(value, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def seconds(value) -> str:
    if value is None:
        return "–"
    if value < 10:
        return f"{value:.1f} s"
    return f"{value:.0f} s" if value < 600 else f"{value / 60:.1f} min"


def table(header, rows, classes=None) -> str:
    """An HTML table; cells are escaped unless given as ("raw", html); ``classes`` colours whole rows."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(_cell(c) for c in row)
        cls = f' class="{esc(classes[i])}"' if classes and classes[i] else ""
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell(value) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "raw":
        return f"<td>{value[1]}</td>"
    text = esc(value)
    numeric = bool(re.fullmatch(r"[-–+]?[\d.,]+ ?(%|s|min)?", str(value)))
    return f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>"


def png(path: Path, caption: str = "") -> str:
    """A figure with the PNG embedded as a data URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{esc(caption or Path(path).name)}" src="data:image/png;base64,{data}">{cap}</figure>'


def grid(figures: list) -> str:
    """Figures two to a row."""
    return f'<div class="grid">{"".join(figures)}</div>' if figures else ""


def inline_svg(text: str, caption: str = "") -> str:
    """Graphviz's SVG without its XML prolog and DOCTYPE, ready to sit inside HTML."""
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure class="graph">{text.strip()}{cap}</figure>'


def links(folder: Path, report_dir: Path, names) -> str:
    """Relative links to an exercise's files (they open beside the report; the page does not need them)."""
    items = []
    for name in names:
        path = Path(folder) / name
        if path.exists():
            items.append(f'<a href="{esc(path.relative_to(report_dir).as_posix())}">{esc(name)}</a>')
    return f'<p class="muted">Files: {" · ".join(items)}</p>' if items else ""


BOX_LABELS = {"skipped": "Skipped", "failed": "Failed", "interrupted": "Interrupted", "note": "Note"}


def status_box(kind: str, message: str, label: str | None = None) -> str:
    """A coloured box: "skipped", "failed" or "interrupted" for an exercise, "note" for a remark (titled ``label``)."""
    title = label or BOX_LABELS.get(kind, kind.capitalize())
    return f'<div class="box {esc(kind)}"><strong>{esc(title)}.</strong> {prose(message)}</div>'


def page(title: str, intro: str, nav: list, sections: list, footer: str) -> str:
    """The whole document: title, introduction, table of contents, sections, footer."""
    toc = "".join(f'<li><a href="#{esc(anchor)}">{esc(text)}</a></li>' for anchor, text in nav)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{esc(title)}</h1>{intro}<nav><h3>Contents</h3><ul>{toc}</ul></nav>"
            f"{''.join(sections)}<hr><footer class=\"muted\">{footer}</footer></body></html>\n")


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>'
