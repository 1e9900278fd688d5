"""Markdown to safe HTML: the one renderer for the workspace preview and the public page.

Raw HTML in the input is escaped by the Markdown parser, and the output is cleaned by nh3
whatever the parser produced: no script, no event attribute, no ``javascript:`` link.
"""

import re

import mistune
import nh3
from django.utils.safestring import SafeString, mark_safe

from articles.content import CITATION_MARKER


class _ArticleRenderer(mistune.HTMLRenderer):
    def heading(self, text: str, level: int, **attrs) -> str:
        # The page's title is the one <h1>: the article's own headings start at <h2>.
        return super().heading(text, max(level, 2), **attrs)


_markdown = mistune.create_markdown(
    escape=True, renderer=_ArticleRenderer(escape=True), plugins=["strikethrough", "table"]
)

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "sup", "sub", "table", "thead", "tbody", "tr",
    "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
ALLOWED_CLASSES = {"a": {"citation"}, "sup": {"citation"}}
URL_SCHEMES = {"http", "https", "mailto"}

_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")


def _link_citations(html: str) -> str:
    """Turn [n] markers in text (not inside links or code) into links to reference n."""
    out, skip_depth = [], 0
    for piece in _TAG_OR_TEXT.split(html):
        if piece.startswith("<"):
            tag = piece[1:].lstrip("/").split(None, 1)[0].rstrip(">").lower() if piece[1:] else ""
            if tag in {"a", "code", "pre"}:
                skip_depth += -1 if piece.startswith("</") else 1
            out.append(piece)
        elif skip_depth > 0:
            out.append(piece)
        else:
            out.append(CITATION_MARKER.sub(_citation_link, piece))
    return "".join(out)


def _citation_link(match: re.Match) -> str:
    first = re.match(r"\d+", match.group(1)).group(0)
    label = match.group(1)
    return (
        f'<sup class="citation"><a class="citation" href="#ref-{first}" title="Reference {label}">[{label}]</a></sup>'
    )


def render_markdown(text: str) -> SafeString:
    """Render author Markdown as HTML that is safe to put in a page as it is."""
    html = _link_citations(_markdown(text or ""))
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - cleaned by nh3 just above
