"""The API at /api/v1/: the same services and the same policy as the workspace.

Optimistic concurrency follows HTTP's own convention (RFC 9110 §8.8.3, §13.1.1; RFC 6585 §3):
an article's representation carries an ``ETag`` naming its ``row_version``; ``PUT`` and
``PATCH`` must send it back in ``If-Match`` (428 without it, 412 when the article changed
since, with the current version in the body). Visibility (404) and permission (403) are
decided first, so nobody learns the version of an article they may not see or edit.
Transitions keep their own token, ``row_version`` in the body (409 when stale).
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from articles import content
from articles.models import Article, Reference, Specialty
from editorial.api import idempotency
from editorial.api.board import LetterSerializer
from editorial.api.errors import EditorialAPIError, PreconditionRequired, refusals
from editorial.models import TransitionRecord
from editorial.reads import checks, rounds
from editorial.workflow import permissions, services, sources
from editorial.workflow.exceptions import EditorialError, StaleArticle

#: The most text and references a checks request may carry: the cost of a check stays bounded.
MAX_TEXT = 200_000
MAX_REFERENCES = 300


def etag(article: Article) -> str:
    """The strong entity tag of an article's current version: ``"<row_version>"``."""
    return f'"{article.row_version}"'


def if_match_version(header: str) -> list[int | None]:
    """The row versions an If-Match header names (None for a tag this API never issues)."""
    versions = []
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith('"') and tag.endswith('"') and tag[1:-1].isdigit() and len(tag) < 12:
            versions.append(int(tag[1:-1]))
        else:
            versions.append(None)  # weak tags (W/"…") and "*" never match: they do not name a version
    return versions


class ReferenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reference
        fields = ("authors", "title", "source", "year", "doi", "pmid", "url")


class TransitionRecordSerializer(serializers.ModelSerializer):
    """``actor`` is the user name (frozen once on record); name and roles as they were then."""

    actor = serializers.CharField(source="actor.username")

    class Meta:
        model = TransitionRecord
        fields = (
            "transition",
            "from_status",
            "to_status",
            "actor",
            "actor_name",
            "actor_role",
            "reason",
            "review_round",
            "created_at",
        )


class ArticleSummarySerializer(serializers.ModelSerializer):
    """An article in a list: what it is and where it stands, not its texts."""

    specialty = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = Article
        fields = (
            "id",
            "title",
            "slug",
            "specialty",
            "author",
            "status",
            "review_round",
            "row_version",
            "updated_at",
            "content_updated_at",
            "last_approved_at",
        )
        read_only_fields = fields


class ArticleSerializer(serializers.ModelSerializer):
    specialty = serializers.SlugRelatedField(
        slug_field="slug", queryset=Specialty.objects.all(), required=False, allow_null=True
    )
    author = serializers.CharField(source="author.username", read_only=True)
    references = ReferenceSerializer(many=True, required=False, max_length=content.MAX_REFERENCES)
    available_transitions = serializers.SerializerMethodField()
    change_reason = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=content.REASON_LIMIT
    )

    class Meta:
        model = Article
        fields = (
            "id",
            "title",
            "slug",
            "summary",
            "body",
            "patient_body",
            "specialty",
            "author",
            "status",
            "review_round",
            "row_version",
            "created_at",
            "updated_at",
            "content_updated_at",
            "last_approved_at",
            "references",
            "available_transitions",
            "change_reason",
        )
        read_only_fields = (
            "status",
            "review_round",
            "row_version",
            "created_at",
            "updated_at",
            "content_updated_at",
            "last_approved_at",
        )
        extra_kwargs = {"slug": {"required": False}}

    def to_representation(self, article):
        data = super().to_representation(article)
        # A reference's number is its rank in the ordered list: what the text's [n] cites.
        for number, reference in enumerate(data.get("references", []), start=1):
            reference["number"] = number
        return data

    def get_available_transitions(self, article) -> list[str]:
        user = self.context["request"].user
        return [t.name for t in permissions.available_transitions(user, article)]

    def create(self, validated):
        references = validated.pop("references", [])
        reason = validated.pop("change_reason", "")
        try:
            return services.article_create(
                actor=self.context["request"].user, fields=validated, references=references, reason=reason
            )
        except EditorialError as error:
            raise EditorialAPIError(error) from error

    def update(self, article, validated):
        references = validated.pop("references", None)
        reason = validated.pop("change_reason", "")
        try:
            return services.article_update(
                article=article,
                actor=self.context["request"].user,
                fields=validated,
                references=references,
                reason=reason,
                expected_row_version=self.context["expected_row_version"],
            )
        except StaleArticle as error:
            current = Article.objects.only("row_version").get(pk=article.pk)
            raise EditorialAPIError(
                error, status_code=412, row_version=current.row_version, etag=etag(current)
            ) from error
        except EditorialError as error:
            raise EditorialAPIError(error) from error


class TransitionRequestSerializer(serializers.Serializer):
    transition = serializers.ChoiceField(choices=sorted(services.TRANSITION_SERVICES))
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=content.REASON_LIMIT)
    row_version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        help_text="The row_version of the copy you acted on; a stale copy is refused (409).",
    )
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1024,
        write_only=True,
        style={"input_type": "password"},
        help_text="approve only: the editor's password, which signs the decision.",
    )
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=content.REASON_LIMIT,
        help_text="approve only: why an open reject recommendation is overridden.",
    )


class AvailableTransitionSerializer(serializers.Serializer):
    """A transition the caller may fire now: its name for POST, what it needs."""

    name = serializers.CharField()
    label = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField(help_text="required or optional")
    signature = serializers.SerializerMethodField(help_text="true: the password signs it (approve)")

    def get_label(self, transition) -> str:
        return transition.custom.get("label", transition.name)

    def get_reason(self, transition) -> str:
        return transition.custom.get("reason", "optional")

    def get_signature(self, transition) -> bool:
        return transition.name == "approve"


class ChecksSerializer(serializers.Serializer):
    """The content checks (editorial.reads.checks): what blocks submission and what only warns."""

    blocks_submission = serializers.BooleanField()
    citations = serializers.DictField(help_text="problems (block submit and approve) and warnings (duplicates)")
    refused_on_save = serializers.ListField(child=serializers.CharField())
    lints = serializers.ListField(child=serializers.DictField(), help_text="code, title, field, message, excerpt")
    sources = serializers.ListField(child=serializers.DictField(), help_text="reference, kind, message")


class CheckedReferenceSerializer(serializers.Serializer):
    """A reference as typed: nothing is validated here, the checks say what is wrong."""

    authors = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    source = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    year = serializers.IntegerField(required=False, allow_null=True, default=None)
    doi = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    pmid = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    url = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ChecksRequestSerializer(serializers.Serializer):
    body = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT, trim_whitespace=False
    )
    patient_body = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT, trim_whitespace=False
    )
    references = CheckedReferenceSerializer(many=True, required=False, default=list, max_length=MAX_REFERENCES)


class ChecksView(APIView):
    """Check a text before saving it: the same checks the workspace shows live (authors, editors)."""

    @extend_schema(request=ChecksRequestSerializer, responses={200: ChecksSerializer, **refusals(400, 401, 403)})
    def post(self, request, **kwargs):
        if not permissions.may_create_article(request.user):
            raise PermissionDenied("Only authors and editors write articles.")
        body = ChecksRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(checks.content_checks(body.validated_data).as_dict())


class LookupRequestSerializer(serializers.Serializer):
    doi = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    pmid = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    authors = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    source = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    year = serializers.IntegerField(required=False, allow_null=True, default=None)


class LookupSerializer(serializers.Serializer):
    found = serializers.BooleanField()
    service = serializers.CharField()
    identifier = serializers.CharField()
    fields = serializers.DictField(help_text="authors, title, source, year, doi, pmid as the service has them")
    disagreements = serializers.ListField(child=serializers.CharField())
    updates = serializers.ListField(child=serializers.CharField(), help_text="retractions, corrections …")
    message = serializers.CharField()


class ReferenceLookupView(APIView):
    """Fill a reference from its DOI (Crossref) or PMID (PubMed). 503 while look-ups are off."""

    @extend_schema(
        request=LookupRequestSerializer,
        responses={200: LookupSerializer, **refusals(400, 401, 403), 503: refusals(400)[400]},
    )
    def post(self, request, **kwargs):
        if not permissions.may_create_article(request.user):
            raise PermissionDenied("Only authors and editors write articles.")
        body = LookupRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        typed = {name: data[name] for name in ("authors", "title", "source", "year")}
        try:
            return Response(sources.reference_lookup(doi=data["doi"], pmid=data["pmid"], typed=typed))
        except EditorialError as error:
            raise EditorialAPIError(error) from error


IF_MATCH = OpenApiParameter(
    "If-Match",
    location=OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the version you edited, as the GET gave it (e.g. "7").',
)


@extend_schema_view(
    list=extend_schema(responses={200: ArticleSummarySerializer(many=True), **refusals(400, 401, 404)}),
    retrieve=extend_schema(responses={200: ArticleSerializer, **refusals(401, 404)}),
    create=extend_schema(
        parameters=[idempotency.PARAMETER], responses={201: ArticleSerializer, **refusals(400, 401, 403, 409, 422)}
    ),
    update=extend_schema(
        parameters=[IF_MATCH], responses={200: ArticleSerializer, **refusals(400, 401, 403, 404, 409, 412, 428)}
    ),
    partial_update=extend_schema(
        parameters=[IF_MATCH], responses={200: ArticleSerializer, **refusals(400, 401, 403, 404, 409, 412, 428)}
    ),
)
class ArticleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Articles the caller may see; authors draft, everyone acts through transitions."""

    serializer_class = ArticleSerializer

    def get_queryset(self):
        queryset = Article.objects.select_related("author", "specialty")
        if self.action == "list":
            queryset = queryset.defer("summary", "body", "patient_body")
        else:
            queryset = queryset.prefetch_related("references")
        return permissions.visible_articles(self.request.user, queryset).order_by("-updated_at", "-id")

    def get_serializer_class(self):
        return ArticleSummarySerializer if self.action == "list" else ArticleSerializer

    def perform_create(self, serializer):
        if not permissions.may_create_article(self.request.user):
            raise PermissionDenied("Only authors and editors can create articles.")
        serializer.save()

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = f'"{response.data["row_version"]}"'
        return response

    def update(self, request, *args, **kwargs):
        """PUT/PATCH: 404 if not visible, 403 if not theirs to edit, then 428/412 on If-Match, then 409."""
        article = self.get_object()
        refusal = permissions.content_role_refusal(request.user, article)
        if refusal:
            raise PermissionDenied(refusal)
        header = request.headers.get("If-Match", "").strip()
        if not header:
            raise PreconditionRequired()
        if article.row_version not in if_match_version(header):
            raise EditorialAPIError(
                StaleArticle(
                    "This article changed since the version you edited: reload it and apply your change again."
                ),
                status_code=412,
                row_version=article.row_version,
                etag=etag(article),
            )
        context = {**self.get_serializer_context(), "expected_row_version": article.row_version}
        serializer = self.get_serializer(
            article, data=request.data, partial=kwargs.pop("partial", False), context=context
        )
        serializer.is_valid(raise_exception=True)
        saved = serializer.save()
        fresh = self.get_queryset().get(pk=saved.pk)
        return self._with_checks(Response(self.get_serializer(fresh).data, headers={"ETag": etag(fresh)}))

    @idempotency.idempotent
    def create(self, request, *args, **kwargs):
        return self._with_checks(super().create(request, *args, **kwargs))

    def _with_checks(self, response: Response) -> Response:
        """A save's answer carries the checks of what was saved (computed on every save)."""
        article = Article.objects.prefetch_related("references").get(pk=response.data["id"])
        response.data["checks"] = checks.article_checks(article).as_dict()
        return response

    @extend_schema(responses={200: ChecksSerializer, **refusals(401, 404)})
    @action(detail=True, methods=["get"])
    def checks(self, request, pk=None, **kwargs):
        """The checks of the article: of its live text while its author may edit it, else of the
        version under review (as recorded when it was submitted)."""
        article = get_object_or_404(self.get_queryset(), pk=pk)
        if permissions.may_edit_content(request.user, article):
            found = checks.article_checks(article)
        else:
            found = checks.version_checks(article.current_version) or checks.article_checks(article)
        return Response(found.as_dict())

    @extend_schema(
        methods=["GET"],
        responses={200: AvailableTransitionSerializer(many=True), **refusals(401, 404)},
        description="What the caller may do to the article now, as the workspace offers it.",
    )
    @extend_schema(
        methods=["POST"],
        request=TransitionRequestSerializer,
        responses={200: ArticleSerializer, **refusals(400, 401, 403, 404, 409)},
        description="Fire a transition: 403 for the wrong person, 409 for the wrong state or a stale copy.",
    )
    @action(detail=True, methods=["get", "post"])
    def transitions(self, request, pk=None, **kwargs):
        """GET: the transitions the caller may fire; POST: fire one (reason; password to sign)."""
        article = get_object_or_404(self.get_queryset(), pk=pk)
        if request.method == "GET":
            allowed = permissions.available_transitions(request.user, article)
            return Response(AvailableTransitionSerializer(allowed, many=True).data)
        body = TransitionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        current_version = article.row_version
        article.row_version = body.validated_data["row_version"]
        try:
            article = services.article_transition(
                article=article,
                actor=request.user,
                name=body.validated_data["transition"],
                reason=body.validated_data["reason"],
                password=body.validated_data["password"],
                override_reason=body.validated_data["override_reason"],
                request=request,
            )
        except StaleArticle as error:
            raise EditorialAPIError(error, row_version=current_version) from error
        except EditorialError as error:
            raise EditorialAPIError(error) from error
        article = self.get_queryset().get(pk=article.pk)
        return Response(self.get_serializer(article).data, status=status.HTTP_200_OK, headers={"ETag": etag(article)})

    @extend_schema(responses={200: LetterSerializer(many=True), **refusals(401, 404)})
    @action(detail=True, methods=["get"])
    def letters(self, request, pk=None, **kwargs):
        """The decision letters, newest first: for the author, editors and auditors (others: none)."""
        article = get_object_or_404(self.get_queryset(), pk=pk)
        mine = permissions.sees_every_article(request.user) or article.author_id == request.user.pk
        return Response(LetterSerializer(rounds.decision_letters(article) if mine else [], many=True).data)

    @extend_schema(responses={200: TransitionRecordSerializer(many=True), **refusals(401, 404)})
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None, **kwargs):
        """The article's transitions, oldest first, 50 a page: who, when, from what to what, and why."""
        article = get_object_or_404(self.get_queryset(), pk=pk)
        records = article.transitions.select_related("actor").order_by("created_at", "id")
        page = self.paginate_queryset(records)
        return self.get_paginated_response(TransitionRecordSerializer(page, many=True).data)
