"""The workspace's queue of readers' follow-up questions.

Editors (and auditors, read-only) see every question, with its history (who asked for what,
when and why); authors see the commissions open to claim and those they claimed; board
members see none. Every act is a POST to one of the question's action URLs, which calls a
service in ``editorial.workflow.questions``.
"""

from django.contrib import admin, messages
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import Truncator

from editorial import parsing
from editorial.models import QuestionStatus, ReaderQuestion
from editorial.workflow import permissions, questions
from editorial.workflow.exceptions import EditorialError
from editorial.workspace.base import local_minute

ACTIONS = ("dismiss", "merge", "commission", "claim")


@admin.register(ReaderQuestion)
class ReaderQuestionAdmin(admin.ModelAdmin):
    list_display = ("number", "short_text", "status", "asked_about", "asked", "claimed_by")
    list_display_links = ("number", "short_text")
    list_filter = ("status",)
    list_select_related = ("article", "claimed_by")
    search_fields = ("text",)
    ordering = ("-asked_at", "-id")
    list_per_page = 50
    show_full_result_count = False
    actions = []

    def get_queryset(self, request):
        return permissions.visible_questions(request.user, super().get_queryset(request))

    def has_module_permission(self, request):
        return permissions.sees_questions(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.sees_questions(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="no.", ordering="id")
    def number(self, obj):
        """The question's number, which a merge into a question on another page asks for."""
        return f"#{obj.pk}"

    @admin.display(description="asked", ordering="asked_at")
    def asked(self, obj):
        return local_minute(obj.asked_at)

    @admin.display(description="question")
    def short_text(self, obj):
        return Truncator(obj.text).chars(120)

    @admin.display(description="asked on the page of", ordering="article__title")
    def asked_about(self, obj):
        return obj.article.title

    def get_urls(self):
        return [
            path(
                "<path:object_id>/act/<str:action>/",
                self.admin_site.admin_view(self.act_view),
                name="editorial_readerquestion_act",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        question = self.get_object(request, object_id)
        if question is None:
            raise Http404("No such question.")
        return self.render_question(request, question)

    def render_question(self, request, question, *, error=None, status=200):
        user = request.user
        triage = permissions.may_triage_questions(user) and question.status == QuestionStatus.OPEN
        similar = (
            ReaderQuestion.objects.filter(article_id=question.article_id)
            .exclude(pk=question.pk)
            .exclude(status__in=[QuestionStatus.MERGED, QuestionStatus.DISMISSED])
            .order_by("-asked_at")[:20]
            if triage
            else []
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Reader's question",
            "opts": self.model._meta,
            "question": question,
            "triage": triage,
            "may_claim": permissions.may_claim_question(user) and question.status == QuestionStatus.COMMISSIONED,
            "similar": similar,
            "duplicates": question.duplicates.all()[:50],
            "history": list(question.history.order_by("history_date", "history_id")[:200])
            if permissions.sees_every_article(user)
            else [],
            "error": error,
            "draft_url": reverse("admin:articles_article_change", args=[question.draft_id])
            if question.draft_id and permissions.may_view_article(user, question.draft)
            else "",
        }
        return TemplateResponse(request, "editorial/admin/question.html", context, status=status)

    def act_view(self, request, object_id, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in ACTIONS:
            raise Http404("No such action.")
        question = self.get_object(request, object_id)
        if question is None:
            raise Http404("No such question.")
        user, data = request.user, request.POST
        reason = data.get("reason", "")[:2000]
        try:
            if action == "dismiss":
                questions.question_dismiss(question=question, actor=user, reason=reason)
                done = "The question is dismissed."
            elif action == "merge":
                into_id = parsing.identifier(data.get("into"), name="into")
                into = ReaderQuestion.objects.filter(pk=into_id).first() if into_id else None
                if into is None:
                    raise Http404("Choose the question this one duplicates.")
                questions.question_merge(question=question, actor=user, into=into, reason=reason)
                done = "The question is merged into the one it duplicates."
            elif action == "commission":
                questions.question_commission(question=question, actor=user, reason=reason)
                done = "An article is commissioned: authors can now claim it."
            else:
                article = questions.question_claim(question=question, actor=user)
                messages.success(request, "You claimed the question: here is your draft, titled with it.")
                return HttpResponseRedirect(reverse("admin:articles_article_change", args=[article.pk]))
        except EditorialError as error:
            fresh = self.get_object(request, object_id) or question
            return self.render_question(request, fresh, error=error.message, status=error.http_status)
        messages.success(request, done)
        return HttpResponseRedirect(reverse("admin:editorial_readerquestion_change", args=[question.pk]))
