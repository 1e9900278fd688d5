"""The board through the API: invitations and reviews, by the services the workspace uses.

Editors invite board members (``POST /invitations/``) and cancel invitations; a board member
lists their own invitations, accepts one with a competing-interest declaration, declines it
with a reason, and submits the review (an approve is a signature: the password is asked, as
in the workspace). Visibility first: an invitation the caller may not see is a 404
(``permissions.visible_invitations``), the wrong person for a visible one a 403.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from articles import content
from editorial.api import idempotency
from editorial.api.errors import EditorialAPIError, refusals
from editorial.workflow import board, permissions
from editorial.workflow.exceptions import EditorialError
from reviewers.models import CHECKLIST, REVIEW_BOXES, Conflict, Invitation, Recommendation, Review

User = get_user_model()


def signing_password(help_text: str) -> serializers.CharField:
    """The password that signs (a review's approval, the editor's decision): never echoed back."""
    return serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1024,
        write_only=True,
        style={"input_type": "password"},
        help_text=help_text,
    )


class ReviewSerializer(serializers.ModelSerializer):
    """A submitted review; ``confidential_comments`` only for editors, auditors and its writer."""

    invitation = serializers.IntegerField(source="invitation_id", read_only=True)
    version = serializers.IntegerField(source="version_id", read_only=True)
    signed = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = (
            "id",
            "invitation",
            "version",
            "recommendation",
            *REVIEW_BOXES,
            "comments_to_author",
            "confidential_comments",
            "submitted_at",
            "signed",
        )
        read_only_fields = fields

    def get_signed(self, review) -> bool:
        """True when the review is an approve, signed with the reviewer's password."""
        return review.recommendation == Recommendation.APPROVE

    def to_representation(self, review):
        data = super().to_representation(review)
        if not permissions.may_read_confidential(self.context["request"].user, review):
            data["confidential_comments"] = None
        return data


class LetterSerializer(serializers.Serializer):
    """A decision letter as the author received it (kept in the decision's event)."""

    event = serializers.IntegerField(source="pk", help_text="The decision event's id (a webhook's event_id).")
    decision = serializers.CharField(source="payload.to", help_text="approved, changes_requested or rejected")
    round = serializers.IntegerField(source="payload.round")
    letter = serializers.CharField(source="payload.letter", default="")
    sent_at = serializers.DateTimeField(source="created_at")


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation of one board member to one round of one article."""

    article = serializers.IntegerField(source="article_id", read_only=True)
    article_title = serializers.CharField(source="article.title", read_only=True)
    reviewer = serializers.CharField(source="reviewer.username", read_only=True)
    invited_by = serializers.CharField(source="invited_by.username", read_only=True)
    review = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = (
            "id",
            "article",
            "article_title",
            "review_round",
            "reviewer",
            "invited_by",
            "status",
            "invited_at",
            "respond_by",
            "due_at",
            "responded_at",
            "decline_reason",
            "conflict",
            "conflict_description",
            "conflict_disqualifying",
            "completed_at",
            "row_version",
            "review",
        )
        read_only_fields = fields

    def get_review(self, invitation) -> ReviewSerializer(allow_null=True):
        review = getattr(invitation, "review", None)
        return ReviewSerializer(review, context=self.context).data if review is not None else None


class InviteSerializer(serializers.Serializer):
    article = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    reviewers = serializers.ListField(
        child=serializers.CharField(max_length=150),
        min_length=1,
        max_length=20,
        help_text="User names of the board members to invite.",
    )
    respond_by = serializers.DateTimeField(required=False, help_text="Default: in EDITORIAL_INVITATION_RESPONSE_DAYS.")
    due_at = serializers.DateTimeField(required=False, help_text="Default: EDITORIAL_REVIEW_DAYS after respond_by.")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=content.REASON_LIMIT)


class AcceptSerializer(serializers.Serializer):
    conflict = serializers.ChoiceField(choices=Conflict.choices, help_text="Competing interests: none or declared.")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=content.REASON_LIMIT)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, max_length=content.REASON_LIMIT)


class ReviewRequestSerializer(serializers.Serializer):
    recommendation = serializers.ChoiceField(choices=Recommendation.choices)
    checklist = serializers.DictField(
        child=serializers.BooleanField(),
        required=False,
        default=dict,
        help_text="Each of " + ", ".join(field for field, _ in CHECKLIST) + " and doses_not_applicable: true "
        "when checked. An approve needs every item.",
    )
    comments_to_author = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    confidential_comments = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    password = signing_password("approve only: the reviewer's password, which signs the review.")

    def validate_checklist(self, checklist: dict) -> dict:
        unknown = sorted(set(checklist) - set(REVIEW_BOXES))
        if unknown:
            raise serializers.ValidationError(f"Unknown checklist items: {', '.join(unknown)}.")
        return checklist


@extend_schema_view(
    list=extend_schema(responses={200: InvitationSerializer(many=True), **refusals(400, 401, 404)}),
    retrieve=extend_schema(responses={200: InvitationSerializer, **refusals(401, 404)}),
)
class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Invitations the caller may see: editors and auditors all, a board member their own."""

    serializer_class = InvitationSerializer

    def get_queryset(self):
        queryset = Invitation.objects.select_related("article", "reviewer", "invited_by", "review")
        article = self.request.query_params.get("article")
        if article is not None:
            if not article.isdigit() or len(article) > 10:
                raise NotFound("No such article.")
            queryset = queryset.filter(article_id=int(article))
        return permissions.visible_invitations(self.request.user, queryset).order_by("-invited_at", "-id")

    def _answer(self, invitation, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=invitation.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(
        request=InviteSerializer,
        parameters=[idempotency.PARAMETER],
        responses={201: InvitationSerializer(many=True), **refusals(400, 401, 403, 404, 409, 422)},
    )
    @idempotency.idempotent
    def create(self, request, *args, **kwargs):
        """Invite board members to the article's current round (editors, not on their own article)."""
        body = InviteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        article = get_object_or_404(permissions.visible_articles(request.user), pk=data["article"])
        names = list(dict.fromkeys(data["reviewers"]))
        found = {user.username: user for user in User.objects.filter(username__in=names)}
        missing = [name for name in names if name not in found]
        if missing:
            raise serializers.ValidationError({"reviewers": [f"No such person: {', '.join(missing)}."]})
        try:
            made = board.invitation_create(
                article=article,
                actor=request.user,
                reviewers=[found[name] for name in names],
                respond_by=data.get("respond_by"),
                due_at=data.get("due_at"),
                reason=data["reason"],
            )
        except EditorialError as error:
            raise EditorialAPIError(error) from error
        fresh = self.get_queryset().filter(pk__in=[invitation.pk for invitation in made]).order_by("id")
        return Response(self.get_serializer(fresh, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AcceptSerializer, responses={200: InvitationSerializer, **refusals(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None, **kwargs):
        """The invited board member accepts, declaring competing interests (none, or declared with a description)."""
        invitation = self.get_object()
        body = AcceptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            board.invitation_accept(
                invitation=invitation,
                actor=request.user,
                conflict=body.validated_data["conflict"],
                description=body.validated_data["description"],
            )
        except EditorialError as error:
            raise EditorialAPIError(error) from error
        return self._answer(invitation)

    @extend_schema(request=ReasonSerializer, responses={200: InvitationSerializer, **refusals(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None, **kwargs):
        """The invited board member declines, saying why."""
        invitation = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            board.invitation_decline(invitation=invitation, actor=request.user, reason=body.validated_data["reason"])
        except EditorialError as error:
            raise EditorialAPIError(error) from error
        return self._answer(invitation)

    @extend_schema(request=ReasonSerializer, responses={200: InvitationSerializer, **refusals(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None, **kwargs):
        """An editor cancels an open invitation, saying why."""
        invitation = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            board.invitation_cancel(invitation=invitation, actor=request.user, reason=body.validated_data["reason"])
        except EditorialError as error:
            raise EditorialAPIError(error) from error
        return self._answer(invitation)

    @extend_schema(
        request=ReviewRequestSerializer, responses={201: ReviewSerializer, **refusals(400, 401, 403, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None, **kwargs):
        """Submit the review of an accepted invitation; an approve is signed with the password
        (a wrong password is a 403 and counts as a failed signature, as in the workspace).

        No Idempotency-Key here: a failed signature must outlive the refusal, so the password is
        checked outside any transaction; a second submission of the round is a 409 anyway."""
        invitation = self.get_object()
        body = ReviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            review = board.review_submit(
                invitation=invitation,
                actor=request.user,
                recommendation=data["recommendation"],
                checklist=data["checklist"],
                comments_to_author=data["comments_to_author"],
                confidential_comments=data["confidential_comments"],
                password=data["password"],
                request=request._request,
            )
        except EditorialError as error:
            raise EditorialAPIError(error) from error
        return Response(ReviewSerializer(review, context=self.get_serializer_context()).data, status=201)
