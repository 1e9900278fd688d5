"""The pages an article leads to: confirm a transition, invite reviewers, read and compare its history.

A mixin of ``ArticleAdmin`` (``editorial.workspace.articles``); every write calls a workflow service.
"""

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from articles.models import Article, Reference
from articles.rendering import render_markdown
from editorial import parsing
from editorial.models import Notification, ReaderQuestion
from editorial.reads import checks, history, rounds
from editorial.reads import provenance as machine_reads
from editorial.workflow import board, chain_verify, outcomes, permissions, services, signing, sources
from editorial.workflow.approval import approval_status
from editorial.workflow.exceptions import EditorialError, NotReady, PasswordRequired, ReasonRequired, SignatureRefused
from editorial.workflow.invitations import board_date
from editorial.workflow.invitations import default_dates as default_invitation_dates
from editorial.workspace.board import parse_moment

#: What happens next, shown on each transition's confirmation step.
CONSEQUENCES = {
    "submit": [
        "The editors of the board are told that the article waits for reviewers.",
        "The content is frozen while it is reviewed; you can still withdraw it.",
        "Readers see it as pending review, with the banner and the status tracker.",
    ],
    "resubmit": [
        "A new review round opens with the text as it is now.",
        "The editors are told; the content is frozen again until the decision.",
    ],
    "start_review": ["The article moves to Under review; its content stays frozen."],
    "approve": [
        "The author is told of the decision.",
        "This version becomes the published one; readers see it as reviewed.",
    ],
    "request_changes": [
        "The author receives your reason as the decision letter.",
        "The author can edit the article and resubmit it for a new round.",
    ],
    "reject": ["The author receives your reason. A rejected article is not shown to readers."],
    "withdraw": ["The article leaves the review process and is no longer public."],
    "retract": [
        "Readers see a retraction notice instead of the content.",
        "The author is told, with your reason.",
    ],
    "revise": [
        "A new draft opens from the approved text.",
        "Readers keep seeing the approved version until the revision is approved.",
    ],
    "discard_revision": [
        "The article returns to its approved version; the revision's text is discarded.",
        "Readers keep seeing the approved version: the public page does not change.",
        "Invitations of the round in progress end; their reviewers are told.",
    ],
}


class ArticlePagesMixin:
    """Views of ``ArticleAdmin`` reached from an article's change page."""

    # --- Transitions ---------------------------------------------------------------------

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="articles_article_transition",
            ),
            path("preview/", self.admin_site.admin_view(self.preview_view), name="articles_article_preview"),
            path("checks/", self.admin_site.admin_view(self.checks_view), name="articles_article_checks"),
            path("lookup/", self.admin_site.admin_view(self.lookup_view), name="articles_article_lookup"),
            path(
                "<path:object_id>/history/compare/",
                self.admin_site.admin_view(self.compare_view),
                name="articles_article_compare",
            ),
            path(
                "<path:object_id>/machine-draft/",
                self.admin_site.admin_view(self.machine_draft_view),
                name="articles_article_machine_draft",
            ),
            path(
                "<path:object_id>/invite/",
                self.admin_site.admin_view(self.invite_view),
                name="articles_article_invite",
            ),
        ]
        return custom + super().get_urls()

    def transition_view(self, request, object_id, name):
        article = self.get_object(request, object_id)
        if article is None or name not in services.TRANSITION_SERVICES:
            raise Http404("No such article or transition.")
        change_url = reverse("admin:articles_article_change", args=[article.pk])
        context = {
            **self.admin_site.each_context(request),
            "title": f"{_label(name)}: {article.title}",
            "opts": self.model._meta,
            "article": article,
            "name": name,
            "label": _label(name),
            "reason_required": outcomes.reason_is_required(name),
            "consequences": CONSEQUENCES.get(name, []),
            "change_url": change_url,
            "row_version": article.row_version,
            "signs": name == "approve",
            "approval": approval_status(article) if name == "approve" else None,
            # The editor sees the checks again before approving: as recorded on the version reviewed.
            "checks": checks.version_checks(article.current_version) if name == "approve" else None,
            "error": None,
            "problems": [],
        }
        status, fixable = 200, False
        if request.method == "POST":
            copy = article
            try:
                copy.row_version = int(request.POST.get("row_version", ""))
            except ValueError:
                copy.row_version = -1
            try:
                services.article_transition(
                    article=copy,
                    actor=request.user,
                    name=name,
                    reason=request.POST.get("reason", ""),
                    password=request.POST.get("password", ""),
                    override_reason=request.POST.get("override_reason", ""),
                    request=request,
                )
            except EditorialError as error:
                context["error"], status = error.message, error.http_status
                context["problems"] = error.problems
                # Errors the person can put right on this page keep the form open.
                fixable = isinstance(error, ReasonRequired | SignatureRefused | PasswordRequired) or (
                    isinstance(error, NotReady) and name == "approve" and context["approval"].quorum_reached
                )
                context["reason"] = request.POST.get("reason", "")
                context["override_reason"] = request.POST.get("override_reason", "")
                article.refresh_from_db()
                context["row_version"] = article.row_version
            else:
                messages.success(request, f"{_label(name)}: done. {article.title}")
                return HttpResponseRedirect(change_url)
        else:
            try:
                services.check_transition(article=article, actor=request.user, name=name)
            except EditorialError as error:
                context["error"], status = error.message, error.http_status
                context["problems"] = error.problems
        context["can_confirm"] = context["error"] is None or fixable
        return TemplateResponse(request, "editorial/admin/transition_confirm.html", context, status=status)

    def preview_view(self, request):
        """The Markdown as readers will see it: the public page's renderer and sanitiser."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not permissions.may_create_article(request.user):
            raise PermissionDenied
        return JsonResponse({"html": str(render_markdown(request.POST.get("text", "")))})

    def checks_view(self, request):
        """The content checks of the form being written (POSTed as it is), for the live panel.

        Reads only what was posted (and what the services said about the identifiers in it).
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not permissions.may_create_article(request.user):
            raise PermissionDenied
        data = request.POST
        content = {
            "body": data.get("body", ""),
            "patient_body": data.get("patient_body", ""),
            "references": checks.posted_references(data),
        }
        return JsonResponse(checks.content_checks(content).as_dict())

    def lookup_view(self, request):
        """Fill a reference from its DOI (Crossref) or PMID (PubMed): the "Look up" button."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not permissions.may_create_article(request.user):
            raise PermissionDenied
        data = request.POST
        typed = {name: data.get(name, "") for name in ("authors", "title", "source", "year")}
        try:
            found = sources.reference_lookup(doi=data.get("doi", ""), pmid=data.get("pmid", ""), typed=typed)
        except EditorialError as error:
            return JsonResponse({"detail": error.message, "code": error.code}, status=error.http_status)
        return JsonResponse(found)

    def invite_view(self, request, object_id):
        """The editor chooses board members for the current round, the best matches first."""
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article.")
        change_url = reverse("admin:articles_article_change", args=[article.pk])
        respond_by, due_at = default_invitation_dates()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Invite reviewers: {article.title}",
            "opts": self.model._meta,
            "article": article,
            "change_url": change_url,
            "respond_by": board_date(respond_by).isoformat(),
            "due_at": board_date(due_at).isoformat(),
            "error": permissions.invite_refusal(request.user, article),
            "chosen": set(),
        }
        status = 403 if context["error"] else 200
        if request.method == "POST" and not context["error"]:
            chosen = parsing.identifiers(request.POST.getlist("reviewer"), name="reviewer", most=50)
            people = list(User.objects.filter(pk__in=chosen))
            try:
                created = board.invitation_create(
                    article=article,
                    actor=request.user,
                    reviewers=people,
                    respond_by=parse_moment(request.POST.get("respond_by", ""), name="respond by"),
                    due_at=parse_moment(request.POST.get("due_at", ""), name="review due"),
                    reason=request.POST.get("reason", ""),
                    conflict_override=request.POST.get("conflict_override", "")
                    if request.POST.get("confirm_conflicts") == "yes"
                    else "",
                )
            except (EditorialError, parsing.BadParameter) as error:
                context.update(
                    error=error.message,
                    chosen=set(chosen),
                    conflict_override=request.POST.get("conflict_override", ""),
                    respond_by=request.POST.get("respond_by", ""),
                    due_at=request.POST.get("due_at", ""),
                )
                status = getattr(error, "http_status", 400)
            else:
                names = ", ".join(signing.printed_identity(i.reviewer)[0] for i in created)
                messages.success(request, f"Invited {names}. Each is told by e-mail.")
                return HttpResponseRedirect(change_url)
        context["suggestions"] = rounds.suggest_reviewers(article) if status != 403 else []
        context["any_declared"] = any(s.declared for s in context["suggestions"])
        return TemplateResponse(request, "editorial/admin/invite.html", context, status=status)

    # --- History: read it, never write it ---------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article.")
        extra_context = {
            **(extra_context or {}),
            "transitions": article.transitions.order_by("created_at", "id"),
            "reference_history": Reference.history.filter(article_id=article.pk).order_by(
                "-history_date", "-history_id"
            )[:200],
            **rounds.board_history(request.user, article),
            "versions": list(article.history.order_by("-history_date", "-history_id")[:100]),
            "chain": chain_verify.status_for(article.pk),
            "chain_length": article.audit_length,
            "compare_url": reverse("admin:articles_article_compare", args=[article.pk]),
            "can_export": permissions.may_export_audit(request.user),
            "reader_questions": list(
                ReaderQuestion.objects.filter(Q(article=article) | Q(draft=article)).order_by("asked_at", "id")[:200]
            )
            if permissions.sees_every_article(request.user)
            else [],
            "notification_log": list(
                Notification.objects.filter(event__article=article)
                .select_related("event", "recipient")
                .order_by("-created_at", "-id")[:200]
            )
            if permissions.sees_every_article(request.user)
            else [],
        }
        return super().history_view(request, object_id, extra_context)

    def compare_view(self, request, object_id):
        """Field by field, what changed between two saved versions: by whom, when and why."""
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article.")
        wanted = [parsing.identifier(request.GET.get(name), name=name) for name in ("a", "b")]
        rows = {h.history_id: h for h in article.history.filter(history_id__in=[v for v in wanted if v])}
        if len(rows) != 2:
            raise Http404("Choose two versions of this article.")
        older, newer = sorted(rows.values(), key=lambda h: (h.history_date, h.history_id))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Compare versions: {article.title}",
            "opts": self.model._meta,
            "article": article,
            "older": older,
            "newer": newer,
            "changes": history.compare_history(article, older, newer),
            "history_url": reverse("admin:articles_article_history", args=[article.pk]),
        }
        return TemplateResponse(request, "editorial/admin/compare.html", context)

    def machine_draft_view(self, request, object_id):
        """For each machine-drafted version: its AI provenance and the diff from the machine's text."""
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article.")
        versions = [
            {"ai": machine, "changes": machine_reads.machine_changes(machine)}
            for machine in machine_reads.machine_drafted_versions(article)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Machine draft and reviewed text: {article.title}",
            "opts": self.model._meta,
            "article": article,
            "versions": versions,
        }
        return TemplateResponse(request, "editorial/admin/machine_draft.html", context)


def _label(name: str) -> str:
    for transition in getattr(Article, name)._django_fsm.transitions.values():
        return transition.custom.get("label", name)
    return name
