"""Markdown to safe HTML: the one renderer for the workspace preview and the public page.

Raw HTML in the input is escaped by the Markdown parser (it shows as text), and the output is
cleaned by nh3 whatever the parser produced: no script, no event attribute, no ``javascript:``
link. Beyond safety, the rule is fidelity: every construct the renderer emits survives the
sanitiser as the author meant it, or ``markdown_problems`` refuses it when the text is saved.

- Supported as written (CommonMark and GFM): paragraphs, ATX and setext headings (the page's
  title is the one ``<h1>``, so ``#`` becomes ``<h2>``), emphasis, strong emphasis, GFM
  strikethrough, code spans, fenced and indented code (the info string is not used: there is
  no syntax highlighting), block quotes, bullet and ordered lists (with their start number),
  thematic breaks, hard line breaks, backslash escapes, entities, inline links, autolinks and
  reference links with a word label, and GFM tables, whose column alignment becomes a class
  (``align-left`` …): presentation goes through classes, never ``style`` attributes, so a
  strict Content-Security-Policy holds.
- Shown as text: raw HTML, GFM task-list boxes (``[ ]``), bare ``www.`` addresses (GFM's
  extended autolinks are not enabled).
- Refused when saved, with a message: images; links to anything but web (http, https),
  e-mail (mailto) and telephone (tel) addresses; and every construct that would capture a
  citation. ``[n]`` in the text is always a citation of reference n: a link definition with a
  number for its label (``[1]: https://…``), a footnote (``[^1]``), or a link whose text is a
  citation (``[1](https://…)``) would turn it into something else, so they are refused. Should
  one reach the renderer anyway (text saved before this rule), the definition is ignored and
  ``[n]`` still cites reference n.
"""

import re

import mistune
import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from articles.content import CITATION_LABEL, CITATION_MARKER, expand_citation

PLUGINS = ["strikethrough", "table"]
ALIGN_CLASSES = {"left": "align-left", "center": "align-center", "right": "align-right"}

#: A label that reads as a citation ([1], [1, 2], [2-4]) or a footnote ([^1], [^note]).
CAPTURING_LABEL = re.compile(rf"^\s*(?:\^.*|{CITATION_LABEL})\s*$", re.DOTALL)


class _ArticleRenderer(mistune.HTMLRenderer):
    def heading(self, text: str, level: int, **attrs) -> str:
        # The page's title is the one <h1>: the article's own headings start at <h2>.
        return super().heading(text, max(level, 2), **attrs)

    def block_code(self, code: str, info: str | None = None) -> str:
        # No class from the info string: nothing on the page would use it.
        return "<pre><code>" + escape(code) + "</code></pre>\n"


def _table_cell(renderer, text: str, align: str | None = None, head: bool = False) -> str:
    tag = "th" if head else "td"
    css = f' class="{ALIGN_CLASSES[align]}"' if align in ALIGN_CLASSES else ""
    return f"  <{tag}{css}>{text}</{tag}>\n"


def _drop_capturing_definitions(md, state) -> None:
    """Link definitions labelled like a citation or a footnote never capture ``[n]``."""
    links = state.env.get("ref_links", {})
    for key in [key for key, value in links.items() if CAPTURING_LABEL.match(value.get("label", key))]:
        del links[key]


_markdown = mistune.create_markdown(escape=True, renderer=_ArticleRenderer(escape=True), plugins=PLUGINS)
_markdown.renderer.register("table_cell", _table_cell)
_markdown.before_render_hooks.append(_drop_capturing_definitions)
_parse = mistune.create_markdown(renderer=None, plugins=PLUGINS)

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "sup", "sub", "table", "thead", "tbody", "tr",
    "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_CLASSES = {
    "a": {"citation"},
    "sup": {"citation"},
    "th": set(ALIGN_CLASSES.values()),
    "td": set(ALIGN_CLASSES.values()),
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
LINK_REL = "noopener noreferrer nofollow"

_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def _link_citations(html: str, found: set[int] | None = None) -> str:
    """Turn [n] markers in text (not inside links or code) into links to reference n."""
    out, skip_depth = [], 0

    def link(match: re.Match) -> str:
        if found is not None:
            found.update(expand_citation(match.group(1)))
        return _citation_link(match)

    for piece in _TAG_OR_TEXT.split(html):
        if piece.startswith("<"):
            tag = piece[1:].lstrip("/").split(None, 1)[0].rstrip(">").lower() if piece[1:] else ""
            if tag in {"a", "code", "pre"}:
                skip_depth += -1 if piece.startswith("</") else 1
            out.append(piece)
        elif skip_depth > 0:
            out.append(piece)
        else:
            out.append(CITATION_MARKER.sub(link, piece))
    return "".join(out)


def _citation_link(match: re.Match) -> str:
    first = re.match(r"\d+", match.group(1)).group(0)
    label = match.group(1)
    return (
        f'<sup class="citation"><a class="citation" href="#ref-{first}" title="Reference {label}">[{label}]</a></sup>'
    )


def render_unsanitised(text: str, found: set[int] | None = None) -> str:
    """The renderer's HTML before the sanitiser (for the fidelity test and ``citation_numbers``)."""
    return _link_citations(_markdown(text or ""), found)


def sanitise(html: str) -> str:
    """nh3 with the allow-lists above; links get ``rel="noopener noreferrer nofollow"``."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
    )


def render_markdown(text: str) -> SafeString:
    """Render author Markdown as HTML that is safe to put in a page as it is."""
    return mark_safe(sanitise(render_unsanitised(text)))  # noqa: S308 - cleaned by nh3


def citation_numbers(text: str) -> set[int]:
    """The reference numbers the text cites as readers see it (not in code, not in link text)."""
    found: set[int] = set()
    render_unsanitised(text, found)
    return found


# --- What is refused when saved --------------------------------------------------------------


def _plain(children: list) -> str:
    return "".join(child.get("raw", "") or _plain(child.get("children", [])) for child in children or [])


def _walk(tokens: list):
    for token in tokens or []:
        yield token
        yield from _walk(token.get("children") or [])


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown_problems(text: str) -> list[str]:
    """Why the renderer could not show ``text`` as its author meant, one sentence each.

    Empty when the text is fine. The rules are in this module's docstring.
    """
    if not text:
        return []
    tokens, state = _parse.parse(text)
    problems = []
    for key, definition in state.env.get("ref_links", {}).items():
        label = definition.get("label", key)
        if label.strip().startswith("^"):
            problems.append(
                f"“[{label}]: {_shorten(definition.get('url', ''))}” is a footnote: footnotes are not supported. "
                "Put the source in the reference list and cite it by its number, like [1]."
            )
        elif CAPTURING_LABEL.match(label):
            problems.append(
                f"“[{label}]: {_shorten(definition.get('url', ''))}” is a Markdown link definition: it would turn "
                f"every [{label}] citation into a link. Put the source in the reference list instead (its number "
                "is its place in the list), or write a link in the text as [words](https://…)."
            )
    for token in _walk(tokens):
        kind = token.get("type")
        if kind == "image":
            problems.append(
                f"The image “{_shorten(_plain(token.get('children')) or token['attrs'].get('url', ''))}” cannot be "
                "shown: article text takes no images. Describe it in words, or link to it with [words](https://…)."
            )
        elif kind == "link":
            url = (token.get("attrs") or {}).get("url", "")
            words = _plain(token.get("children"))
            scheme = _SCHEME.match(url.strip())
            ref = token.get("ref")
            if CAPTURING_LABEL.match(words) and not words.strip().startswith("^"):
                if not (ref and CAPTURING_LABEL.match(ref)):  # a capturing definition is reported above
                    problems.append(
                        f"“[{words}]({_shorten(url)})” is a link whose words are a citation: write the citation "
                        f"[{words.strip()}] and the link separately, or give the link other words."
                    )
            elif scheme and scheme.group(1).lower() not in URL_SCHEMES:
                problems.append(
                    f"The link “{_shorten(words)}” points to a {scheme.group(1)}: address: links may lead only to "
                    "web (https://), e-mail (mailto:) or telephone (tel:) addresses."
                )
        elif kind == "text" and re.search(r"\[\^[^\]\s]+\]", token.get("raw", "")):
            marker = re.search(r"\[\^[^\]\s]+\]", token["raw"]).group(0)
            problems.append(
                f"“{marker}” is a footnote marker: footnotes are not supported. Cite a numbered reference, like [1]."
            )
    return list(dict.fromkeys(problems))
