"""The caller's own things through the API: the inbox, the API tokens, the webhooks.

Each person sees and changes only their own: the inbox lists the caller's notifications
(``editorial.notifications.inbox``), the tokens are the caller's (``accounts.tokens``: made
with the second factor, shown once, revoked by their first characters), and so are the webhooks
(``editorial.notifications.webhooks``: public URLs only, each delivery signed with its secret).
"""

from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView, get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from editorial.api import idempotency
from editorial.api.errors import EditorialAPIError, refusals
from editorial.models import Notification, Webhook, WebhookDelivery
from editorial.notifications import emails, inbox, webhooks
from editorial.workflow.exceptions import EditorialError


class NotificationSerializer(serializers.ModelSerializer):
    """One inbox entry: what happened, about which article, and whether it was read."""

    kind = serializers.CharField(source="event.kind", read_only=True)
    article = serializers.IntegerField(source="event.article_id", read_only=True, allow_null=True)
    subject = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ("id", "kind", "article", "subject", "created_at", "read", "read_at")
        read_only_fields = fields

    def get_subject(self, notification) -> str:
        return emails.subject_for(notification.event, self.context["request"].user)

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        allow_null=True,
        default=None,
        max_length=500,
        help_text="The entries to mark read; leave it out to mark them all.",
    )


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many unread entries are now read.")


class InboxView(GenericAPIView):
    """The caller's inbox, newest first, 50 a page; ``?unread=true`` for the unread only."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        queryset = inbox.inbox(self.request.user).order_by("-created_at", "-id")
        if self.request.query_params.get("unread") == "true":
            queryset = queryset.filter(read_at__isnull=True)
        return queryset

    @extend_schema(responses={200: NotificationSerializer(many=True), **refusals(401, 404)})
    def get(self, request, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class InboxReadView(APIView):
    """Mark the caller's own entries read (others' ids are ignored: nobody learns they exist)."""

    @extend_schema(request=MarkReadSerializer, responses={200: MarkedSerializer, **refusals(400, 401)})
    def post(self, request, **kwargs):
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response({"marked": inbox.mark_read(request.user, body.validated_data["ids"])})


class TokenSerializer(serializers.ModelSerializer):
    """A token as listed: its first characters identify it; the token itself is never shown again."""

    class Meta:
        model = AuthToken
        fields = ("token_key", "created", "expiry")
        read_only_fields = fields


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown this once: keep it in your pipeline's secrets.")

    class Meta(TokenSerializer.Meta):
        fields = ("token", *TokenSerializer.Meta.fields)
        read_only_fields = fields


class TokenRequestSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=20, help_text="A code of your second factor (the authenticator app, or a backup code)."
    )


class TokenListView(APIView):
    """The caller's own API tokens (list, and make one with the second factor)."""

    @extend_schema(responses={200: TokenSerializer(many=True), **refusals(401)})
    def get(self, request, **kwargs):
        return Response(TokenSerializer(tokens.tokens_of(request.user), many=True).data)

    @extend_schema(request=TokenRequestSerializer, responses={201: NewTokenSerializer, **refusals(400, 401, 403)})
    def post(self, request, **kwargs):
        """Make a token: the second factor's code again (a wrong one counts as a failed login)."""
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            token, raw = tokens.create(request._request, code=body.validated_data["code"])
        except tokens.TokenRefused as refusal:
            raise PermissionDenied(str(refusal)) from refusal
        return Response({**TokenSerializer(token).data, "token": raw}, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    """Revoke one of the caller's tokens by its first characters (``token_key``)."""

    @extend_schema(responses={204: None, **refusals(401, 404)})
    def delete(self, request, token_key: str, **kwargs):
        if not tokens.revoke(request._request, token_key=token_key):
            raise NotFound("You have no token that starts with these characters.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSerializer(serializers.ModelSerializer):
    """A registered webhook; its secret is shown only in the answer that made it (never stored in clear)."""

    kinds = serializers.ListField(child=serializers.CharField(), help_text="Event kinds, e.g. article.decision.")

    class Meta:
        model = Webhook
        fields = ("id", "url", "kinds", "created_at")
        read_only_fields = ("id", "created_at")


class NewWebhookSerializer(WebhookSerializer):
    # Only an answer's schema, never read from a request; not read_only, which the schema would
    # make a required field: a replay of the answer comes without it.
    secret = serializers.CharField(
        required=False,
        help_text=(
            "Shown this once: verifies each delivery's webhook-signature (Standard Webhooks). Kept only "
            "encrypted: a replay of this answer (the same Idempotency-Key) comes without it."
        ),
    )

    class Meta(WebhookSerializer.Meta):
        fields = (*WebhookSerializer.Meta.fields, "secret")


class WebhookRequestSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, help_text="https://… on a public address.")
    kinds = serializers.ListField(child=serializers.CharField(max_length=40), min_length=1, max_length=20)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(source="event.kind", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event_id",
            "kind",
            "status",
            "attempts",
            "response_status",
            "last_error",
            "created_at",
            "sent_at",
        )
        read_only_fields = fields


class WebhookListView(APIView):
    """The caller's webhooks: list them, or register a URL for kinds of event."""

    @extend_schema(responses={200: WebhookSerializer(many=True), **refusals(401)})
    def get(self, request, **kwargs):
        mine = Webhook.objects.filter(owner=request.user, is_active=True).order_by("-created_at", "-id")
        return Response(WebhookSerializer(mine, many=True).data)

    @extend_schema(
        request=WebhookRequestSerializer,
        parameters=[idempotency.PARAMETER],
        responses={201: NewWebhookSerializer, **refusals(400, 401, 422)},
    )
    @idempotency.idempotent(withheld=("secret",))
    def post(self, request, **kwargs):
        """Register: the URL must be public (checked now and before each delivery); kinds you may hear of.

        The answer holds the secret, this once: the answer an Idempotency-Key keeps for a replay does not.
        """
        body = WebhookRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            hook, secret = webhooks.webhook_register(owner=request.user, **body.validated_data)
        except EditorialError as error:
            raise EditorialAPIError(error) from error
        return Response({**WebhookSerializer(hook).data, "secret": secret}, status=status.HTTP_201_CREATED)


def _own_webhook(request, webhook_id: str) -> Webhook:
    return get_object_or_404(Webhook.objects.filter(owner=request.user, is_active=True), pk=webhook_id)


class WebhookDetailView(APIView):
    """Remove one of the caller's webhooks (deliveries already made stay on record)."""

    @extend_schema(responses={204: None, **refusals(401, 404)})
    def delete(self, request, webhook_id: str, **kwargs):
        try:
            webhooks.webhook_remove(owner=request.user, webhook=_own_webhook(request, webhook_id))
        except EditorialError as error:
            raise EditorialAPIError(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveriesView(GenericAPIView):
    """What became of each event sent to one of the caller's webhooks, newest first, 50 a page."""

    serializer_class = WebhookDeliverySerializer

    @extend_schema(responses={200: WebhookDeliverySerializer(many=True), **refusals(401, 404)})
    def get(self, request, webhook_id: str, **kwargs):
        hook = _own_webhook(request, webhook_id)
        deliveries = hook.deliveries.select_related("event").order_by("-created_at", "-id")
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
