"""Rendering fidelity: every CommonMark and GFM construct the renderer supports survives the
sanitiser as the author meant it, or is refused when saved with a message.

"Survives" is checked structurally: the renderer's own HTML and the sanitised HTML parse to the
same elements, attributes and text (nh3 may only add the links' rel and normalise ``<br />``).
No output carries a ``style`` attribute: presentation goes through classes, so the
Content-Security-Policy can forbid inline styles.
"""

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from articles.rendering import LINK_REL, markdown_problems, render_markdown, render_unsanitised, sanitise


class Tree(HTMLParser):
    """A fragment as (event, tag, sorted attributes) and text, whitespace-normalised."""

    def __init__(self, html: str, *, ignore_rel: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.ignore_rel = ignore_rel
        self.events: list = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        kept = sorted((k, v) for k, v in attrs if not (self.ignore_rel and k == "rel"))
        self.events.append(("start", tag, tuple(kept)))

    def handle_startendtag(self, tag, attrs):  # <br /> and <br> are one element
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        self.events.append(("end", tag, ()))

    def handle_data(self, data):
        if data.strip():
            self.events.append(("text", " ".join(data.split()), ()))


def survives(text: str) -> bool:
    raw = render_unsanitised(text)
    return Tree(raw).events == Tree(sanitise(raw)).events


def tags(html: str) -> set[str]:
    return {tag for event, tag, _ in Tree(html).events if event == "start"}


# (construct, Markdown, a tag or text the page must show)
SUPPORTED = [
    ("paragraph", "One line.\nSoft break.", "<p>"),
    ("ATX heading (h1 becomes h2)", "# Title\n\n### Third", "<h2>"),
    ("setext heading", "Title\n=====", "<h2>"),
    ("emphasis", "*a* and _b_", "<em>"),
    ("strong emphasis", "**a** and __b__", "<strong>"),
    ("GFM strikethrough", "~~old~~", "<del>"),
    ("code span", "`x = [1]`", "<code>"),
    ("fenced code with an info string", "```python\nx = 1\n```", "<pre>"),
    ("indented code", "    x = 1", "<pre>"),
    ("block quote", "> quoted", "<blockquote>"),
    ("bullet list", "- a\n- b", "<ul>"),
    ("ordered list with a start number", "3. c\n4. d", '<ol start="3">'),
    ("ordered list with parentheses", "1) a\n2) b", "<ol>"),
    ("nested list", "- a\n  - b", "<li>"),
    ("thematic break", "a\n\n---\n\nb", "<hr"),
    ("hard line break", "a  \nb", "<br"),
    ("backslash escape", r"\*not emphasis\*", "*not emphasis*"),
    ("entity", "&copy; &amp;", "&amp;"),
    ("inline link with a title", '[NICE](https://www.nice.org.uk "Guideline")', 'title="Guideline"'),
    ("autolink", "<https://www.who.int>", 'href="https://www.who.int"'),
    ("e-mail autolink", "<board@example.org>", 'href="mailto:board@example.org"'),
    ("telephone link", "[call 111](tel:111)", 'href="tel:111"'),
    ("reference link with a word label", "[NICE][nice]\n\n[nice]: https://www.nice.org.uk", "nice.org.uk"),
    ("citation", "Exercise helps [1].", 'class="citation"'),
    ("citation list and range", "See [1, 2] and [3-5].", 'href="#ref-3"'),
    ("GFM table", "| a | b |\n|---|---|\n| 1 | 2 |", "<table>"),
    ("GFM table with aligned columns", "| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |", 'class="align-center"'),
]

# Shown as text: the renderer emits text, the sanitiser has nothing to strip.
AS_TEXT = [
    ("raw inline HTML", "x<sub>2</sub>", "&lt;sub&gt;"),
    ("raw block HTML", "<div>hi</div>", "&lt;div&gt;"),
    ("GFM task-list box", "- [ ] todo", "[ ] todo"),
    ("bare www address (GFM extended autolink is off)", "www.example.org", "www.example.org"),
]

# Refused on save, with a message saying what to write instead.
REFUSED = [
    ("image", "![x-ray](https://example.org/x.png)", "image"),
    ("link definition with a citation label", "Cite [1].\n\n[1]: https://example.org/g", "link definition"),
    ("link definition with a list label", "See [1, 2].\n\n[1, 2]: https://example.org/g", "link definition"),
    ("footnote definition", "Note [^1].\n\n[^1]: a note", "footnote"),
    ("footnote marker", "A claim [^note].", "footnote"),
    ("link whose words are a citation", "[2](https://example.org)", "citation"),
    ("javascript: link", "[x](javascript:alert(1))", "javascript"),
    ("data: link", "[x](data:text/html;base64,AAAA)", "data"),
    ("ftp: link", "[x](ftp://example.org/f)", "ftp"),
]


@pytest.mark.parametrize(("markdown", "shows"), [c[1:] for c in SUPPORTED], ids=[c[0] for c in SUPPORTED])
def test_supported_constructs_survive_the_sanitiser_as_written(markdown, shows):
    assert markdown_problems(markdown) == []
    assert survives(markdown), (render_unsanitised(markdown), sanitise(render_unsanitised(markdown)))
    html = str(render_markdown(markdown))
    assert shows in html, html
    assert "style=" not in html


@pytest.mark.parametrize(("markdown", "shows"), [c[1:] for c in AS_TEXT], ids=[c[0] for c in AS_TEXT])
def test_unsupported_markup_is_shown_as_text(markdown, shows):
    assert markdown_problems(markdown) == []
    assert survives(markdown)
    html = str(render_markdown(markdown))
    assert shows in html
    assert not tags(html) - {"p", "ul", "li"}


@pytest.mark.parametrize(("markdown", "says"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_constructs_that_would_not_render_as_meant_are_refused_with_a_message(markdown, says):
    problems = markdown_problems(markdown)
    assert problems, markdown
    assert any(says in problem.lower() for problem in problems), problems


def test_table_alignment_is_a_class_not_a_style():
    """The reproduced failure: a column's alignment was silently dropped by the sanitiser."""
    html = str(render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |"))
    assert 'class="align-left"' in html and 'class="align-center"' in html and 'class="align-right"' in html
    assert "style" not in html


def test_a_link_definition_never_captures_a_citation():
    """The reproduced failure: `[1]: url` turned every [1] into a link to that address."""
    html = str(render_markdown("Exercise helps [1].\n\n[1]: https://example.org/guideline"))
    assert 'href="#ref-1"' in html and "example.org" not in html


def test_a_footnote_definition_never_becomes_a_link():
    """The reproduced failure: `[^1]: note` rendered a link to "note"."""
    html = str(render_markdown("A claim [^1].\n\n[^1]: note"))
    assert 'href="note"' not in html and "<a" not in html


def test_links_get_rel_and_nothing_else_changes():
    html = str(render_markdown("[a](https://example.org)"))
    assert f'rel="{LINK_REL}"' in html


# --- Property: whatever mix of supported constructs, the sanitiser changes nothing -------------

WORDS = st.sampled_from(["dose", "Exercise", "helps", "rest", "[1]", "[2, 3]", "x < 5", "a & b", "*", "_", "`"])
INLINE = st.one_of(
    WORDS,
    WORDS.map(lambda w: f"*{w}*"),
    WORDS.map(lambda w: f"**{w}**"),
    WORDS.map(lambda w: f"~~{w}~~"),
    WORDS.map(lambda w: f"`{w}`"),
    WORDS.map(lambda w: f"[{w}](https://example.org/{len(w)})"),
    st.just("<https://example.org>"),
    st.just("&amp;"),
)
LINE = st.lists(INLINE, min_size=1, max_size=6).map(" ".join)
BLOCK = st.one_of(
    LINE,
    LINE.map(lambda t: f"## {t}"),
    LINE.map(lambda t: f"> {t}"),
    st.lists(LINE, min_size=1, max_size=3).map(lambda items: "\n".join(f"- {i}" for i in items)),
    st.lists(LINE, min_size=1, max_size=3).map(lambda items: "\n".join(f"{n}. {i}" for n, i in enumerate(items, 4))),
    LINE.map(lambda t: f"```\n{t}\n```"),
    st.tuples(st.sampled_from([":--", ":-:", "--:", "---"]), LINE).map(
        lambda c: f"| h | k |\n|{c[0]}|---|\n| {c[1].replace('|', '/')} | 1 |"
    ),
    st.just("---"),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(BLOCK, min_size=1, max_size=5).map("\n\n".join))
def test_any_mix_of_supported_constructs_survives_the_sanitiser(text):
    if markdown_problems(text):
        return  # refused on save: never reaches a page
    assert survives(text), (text, render_unsanitised(text))
    assert "style=" not in str(render_markdown(text))
