"""The dashboard: for each role a person holds, what waits for them, with counts and links."""

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import JSONField, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from articles.models import Article, ArticleStatus
from editorial.models import Event, EventKind, QuestionStatus, ReaderQuestion, TransitionRecord
from editorial.reads import worklists
from editorial.workflow import permissions
from editorial.workflow.invitations import board_zone
from editorial.workflow.permissions import Role
from reviewers.models import Invitation, InvitationStatus

S = ArticleStatus
ITEMS = 5


@dataclass
class Item:
    label: str
    url: str
    note: str = ""
    alert: bool = False
    pk: int | None = None


@dataclass
class Panel:
    key: str
    title: str
    count: int
    url: str
    items: list[Item] = field(default_factory=list)
    empty: str = "Nothing here."
    pending: tuple | None = None


def _articles_url(**params) -> str:
    return reverse("admin:articles_article_changelist") + ("?" + urlencode(params) if params else "")


def _invitations_url(**params) -> str:
    return reverse("admin:reviewers_invitation_changelist") + ("?" + urlencode(params) if params else "")


def _article_url(pk) -> str:
    return reverse("admin:articles_article_change", args=[pk])


def _invitation_url(pk) -> str:
    return reverse("admin:reviewers_invitation_change", args=[pk])


def _article_panel(
    key, title, queryset, url, note=None, empty="Nothing here.", progress=False, order=("-updated_at", "-id")
) -> Panel:
    """A panel of articles. With ``progress``, its notes wait for ``_fill_progress``."""
    rows = list(queryset.order_by(*order)[:ITEMS])
    panel = Panel(key=key, title=title, count=queryset.order_by().count(), url=url, empty=empty)
    if progress:
        panel.pending = (rows, note)
    else:
        panel.items = [
            Item(a.title, _article_url(a.pk), note(a) if note else a.get_status_display(), pk=a.pk) for a in rows
        ]
    return panel


def _fill_progress(panels: list[Panel]) -> list[Panel]:
    """One count of round progress for every article shown, whichever panel shows it."""
    waiting = [panel for panel in panels if panel.pending]
    counts = worklists.round_progress([row for panel in waiting for row in panel.pending[0]])
    for panel in waiting:
        rows, note = panel.pending
        for row in rows:
            row.progress = counts[row.pk]
        panel.items = [Item(a.title, _article_url(a.pk), note(a), pk=a.pk) for a in rows]
        panel.pending = None
    return panels


def author_panels(user) -> list[Panel]:
    mine = Article.objects.filter(author=user)
    returned = _article_panel(
        "returned",
        "Returned to you for changes",
        mine.filter(status=S.CHANGES_REQUESTED),
        _articles_url(status__exact=S.CHANGES_REQUESTED, mine="1"),
        empty="No article waits for your changes.",
    )
    # Each article's latest decision only: one subquery per shown row, however many decisions
    # (and rounds) an article has been through.
    latest = Event.objects.filter(article=OuterRef("pk"), kind=EventKind.DECISION).order_by("-created_at", "-id")
    decisions = dict(
        Article.objects.filter(pk__in=[item.pk for item in returned.items])
        .annotate(decision=Subquery(latest.values("payload")[:1], output_field=JSONField()))
        .values_list("pk", "decision")
    )
    for item in returned.items:
        payload = decisions.get(item.pk) or {}
        letter = payload.get("letter") or payload.get("reason", "")
        item.note = (letter[:220] + "…") if len(letter) > 220 else letter
    return [
        returned,
        _article_panel(
            "drafts",
            "Your drafts",
            mine.filter(status=S.DRAFT),
            _articles_url(status__exact=S.DRAFT, mine="1"),
            note=lambda a: f"last edited {timezone.localtime(a.content_updated_at):%d %b %Y}",
            empty="No drafts. Start one with “Add article”.",
        ),
        _article_panel(
            "in_review",
            "Submitted: where each stands",
            mine.filter(status__in=[S.SUBMITTED, S.UNDER_REVIEW]),
            _articles_url(stage="in_progress", mine="1"),
            note=lambda a: f"{a.get_status_display()}, round {a.review_round}",
            empty="Nothing submitted at the moment.",
        ),
        _article_panel(
            "published",
            "Published as reviewed",
            mine.filter(status=S.APPROVED),
            _articles_url(status__exact=S.APPROVED, mine="1"),
            note=lambda a: f"last reviewed {timezone.localtime(a.last_approved_at):%d %b %Y}"
            if a.last_approved_at
            else "approved",
            empty="Nothing published yet.",
        ),
    ]


def board_panels(user) -> list[Panel]:
    mine = Invitation.objects.filter(reviewer=user).select_related("article")
    now = timezone.now()
    waiting = mine.filter(status=InvitationStatus.INVITED)
    due = mine.filter(status=InvitationStatus.ACCEPTED)
    done = mine.filter(status=InvitationStatus.COMPLETED)
    return [
        Panel(
            "invited",
            "Invitations waiting for your answer",
            waiting.count(),
            _invitations_url(status__exact=InvitationStatus.INVITED),
            [
                Item(
                    i.article.title,
                    _invitation_url(i.pk),
                    f"answer by {timezone.localtime(i.respond_by, board_zone()):%d %b}",
                    alert=i.respond_by < now,
                )
                for i in waiting.order_by("respond_by", "id")[:ITEMS]
            ],
            "No invitation waits for you.",
        ),
        Panel(
            "due",
            "Reviews due (soonest first)",
            due.count(),
            _invitations_url(status__exact=InvitationStatus.ACCEPTED),
            [
                Item(
                    i.article.title,
                    _invitation_url(i.pk),
                    ("overdue since " if i.due_at < now else "due ")
                    + f"{timezone.localtime(i.due_at, board_zone()):%d %b}",
                    alert=i.due_at < now,
                )
                for i in due.order_by("due_at", "id")[:ITEMS]
            ],
            "No review in hand.",
        ),
        Panel(
            "completed",
            "Recently completed",
            done.count(),
            _invitations_url(status__exact=InvitationStatus.COMPLETED),
            [
                Item(i.article.title, _invitation_url(i.pk), f"reviewed {timezone.localtime(i.completed_at):%d %b %Y}")
                for i in done.order_by("-completed_at", "-id")[:ITEMS]
            ],
            "No completed review yet.",
        ),
    ]


def editor_panels(user) -> list[Panel]:
    articles = Article.objects.exclude(author=user)  # nobody decides on their own article

    def progress(a) -> str:
        p = a.progress
        return f"{p['invited']} invited · {p['accepted']} accepted · {p['completed']} reviewed · {p['signed']} signed"

    overdue = worklists.overdue_reviews().select_related("article", "reviewer")
    return _fill_progress(
        [
            _article_panel(
                "waiting",
                "Submitted: waiting for reviewers",
                worklists.waiting_for_reviewers(articles),
                _articles_url(stage="waiting"),
                note=progress,
                empty="No submission waits for reviewers.",
                progress=True,
            ),
            _article_panel(
                "in_review",
                "Under review",
                worklists.in_review(articles),
                _articles_url(stage="in_review"),
                note=progress,
                empty="Nothing under review.",
                progress=True,
            ),
            _article_panel(
                "ready",
                "Ready for your decision (quorum reached)",
                worklists.ready_for_decision(articles),
                _articles_url(stage="ready"),
                note=lambda a: f"{a.progress['signed']} signatures, round {a.review_round}",
                empty="No article has its quorum yet.",
                progress=True,
            ),
            Panel(
                "overdue",
                "Overdue reviews",
                overdue.count(),
                _articles_url(stage="overdue"),
                [
                    Item(
                        i.article.title,
                        _article_url(i.article_id),
                        f"{i.reviewer.get_full_name() or i.reviewer.username}, "
                        f"due {timezone.localtime(i.due_at):%d %b}",
                        alert=True,
                    )
                    for i in overdue.order_by("due_at", "id")[:ITEMS]
                ],
                "No review is late.",
            ),
            _article_panel(
                "rereview",
                "Re-reviews due",
                worklists.rereview_due(articles),
                _articles_url(stage="rereview"),
                note=lambda a: f"due since {timezone.localtime(a.review_due_at):%d %b %Y}",
                empty="No approved article is due for re-review.",
                order=("review_due_at", "id"),  # the longest overdue first
            ),
            _questions_panel(user),
        ]
    )


def _questions_panel(user) -> Panel:
    """Readers' questions still open that ``user`` may see: the editors' queue to triage, the oldest first."""
    open_ones = ReaderQuestion.objects.filter(status=QuestionStatus.OPEN).select_related("article")
    waiting = permissions.visible_questions(user, open_ones)
    return Panel(
        "questions",
        "Readers' questions to triage",
        waiting.count(),
        reverse("admin:editorial_readerquestion_changelist") + "?" + urlencode({"status__exact": QuestionStatus.OPEN}),
        [
            Item(
                Truncator(q.text).chars(100),
                reverse("admin:editorial_readerquestion_change", args=[q.pk]),
                f"#{q.pk}, asked {timezone.localtime(q.asked_at):%d %b} on “{q.article.title}”",
            )
            for q in waiting.order_by("asked_at", "id")[:ITEMS]
        ],
        "No reader's question waits.",
    )


def auditor_panels(user) -> list[Panel]:
    week = timezone.now() - timedelta(days=7)
    transitions = TransitionRecord.objects.select_related("article").order_by("-created_at", "-id")
    edits = Article.history.order_by("-history_date", "-history_id")
    return [
        Panel(
            "transitions",
            "Transitions in the last 7 days",
            TransitionRecord.objects.filter(created_at__gte=week).count(),
            reverse("admin:editorial_transitionrecord_changelist"),
            [
                Item(
                    t.article.title,
                    _article_url(t.article_id),
                    f"{t.get_transition_display()} by {t.actor_name}, "
                    f"{timezone.localtime(t.created_at):%d %b %H:%M}: {t.reason}",
                )
                for t in transitions[:ITEMS]
            ],
        ),
        Panel(
            "edits",
            "Article edits in the last 7 days (export the trail)",
            Article.history.filter(history_date__gte=week).count(),
            reverse("admin:audit_export") + "?format=csv",
            [
                Item(
                    h.title,
                    reverse("admin:articles_article_history", args=[h.id]),
                    f"{h.history_actor_name or '—'}, "
                    f"{timezone.localtime(h.history_date):%d %b %H:%M}: {h.history_change_reason}",
                )
                for h in edits[:ITEMS]
            ],
        ),
    ]


def panels(user) -> list[tuple[str, list[Panel]]]:
    """The dashboard's sections, one per role held, in the order a working day asks."""
    held = permissions.roles(user)
    sections = []
    if Role.EDITOR in held:
        sections.append(("Editor", editor_panels(user)))
    if Role.BOARD in held:
        sections.append(("Medical Advisory Board", board_panels(user)))
    if Role.AUTHOR in held:
        sections.append(("Author", author_panels(user)))
    if Role.AUDITOR in held:
        sections.append(("Auditor", auditor_panels(user)))
    return sections
