"""The review workflow as an SVG, drawn from the state machine's own declarations.

The positions are ours; the states and arrows come from the transitions declared on
``Article.status``, so the picture cannot drift from the code.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from articles.models import Article, ArticleStatus

S = ArticleStatus
BOX_W, BOX_H = 150, 44
POSITIONS = {
    S.DRAFT: (20, 40),
    S.SUBMITTED: (230, 40),
    S.UNDER_REVIEW: (440, 40),
    S.APPROVED: (650, 40),
    S.CHANGES_REQUESTED: (335, 190),
    S.WITHDRAWN: (20, 320),
    S.REJECTED: (440, 320),
    S.RETRACTED: (650, 320),
}
WIDTH, HEIGHT = 820, 390


def transitions() -> list[tuple[str, str, str, str]]:
    """(name, label, source, target) for every arrow of the machine, in a stable order."""
    arrows = []
    for t in Article._meta.get_field("status").get_all_transitions(Article):
        arrows.append((t.name, t.custom.get("label", t.name), t.source, t.target))
    return sorted(arrows, key=lambda a: (list(POSITIONS).index(a[2]), a[0]))


def _anchor(state: str, towards: str) -> tuple[float, float]:
    """Where an arrow leaves or enters a box: the middle of the side facing the other box."""
    x, y = POSITIONS[state]
    ox, oy = POSITIONS[towards]
    cx, cy = x + BOX_W / 2, y + BOX_H / 2
    dx, dy = (ox + BOX_W / 2) - cx, (oy + BOX_H / 2) - cy
    if abs(dx) * BOX_H > abs(dy) * BOX_W:
        return (x + BOX_W if dx > 0 else x), cy + (6 if dy > 0 else -6 if dy < 0 else 0)
    return cx + (12 if dx > 0 else -12 if dx < 0 else 0), (y + BOX_H if dy > 0 else y)


def svg(current: str | None = None) -> SafeString:
    """The diagram, with ``current`` (a status) highlighted."""
    labels = dict(S.choices)
    parts = [
        f'<svg class="workflow-diagram" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="wf-title wf-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="wf-title">The review workflow of an article</title>',
        '<desc id="wf-desc">'
        + escape(
            "; ".join(f"{label}: {labels[source]} to {labels[target]}" for _, label, source, target in transitions())
        )
        + (f". The article is now {escape(labels[current])}." if current in labels else "")
        + "</desc>",
        '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4b5563"/></marker></defs>',
    ]
    seen_labels = set()
    for name, label, source, target in transitions():
        x1, y1 = _anchor(source, target)
        x2, y2 = _anchor(target, source)
        parts.append(
            f'<line class="wf-arrow wf-{escape(name)}" x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
            'stroke="#4b5563" stroke-width="1.5" marker-end="url(#wf-arrow)"/>'
        )
        key = (name, target)
        if key not in seen_labels:
            seen_labels.add(key)
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            parts.append(
                f'<text x="{mx:.0f}" y="{my - 5:.0f}" text-anchor="middle" font-size="11" fill="#1f2937" '
                f'paint-order="stroke" stroke="#ffffff" stroke-width="4">{escape(label.lower())}</text>'
            )
    for state, (x, y) in POSITIONS.items():
        here = state == current
        parts.append(
            f'<g class="wf-state{" wf-current" if here else ""}" data-state="{state}">'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
            f'fill="{"#0b57d0" if here else "#f3f4f6"}" stroke="{"#0b57d0" if here else "#6b7280"}" '
            f'stroke-width="{3 if here else 1}"/>'
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + BOX_H / 2 + 5:.0f}" text-anchor="middle" font-size="14" '
            f'font-weight="{700 if here else 400}" fill="{"#ffffff" if here else "#111827"}">'
            f"{escape(labels[state])}{' (now)' if here else ''}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
