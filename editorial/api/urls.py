from django.urls import path
from rest_framework.routers import DefaultRouter

from editorial.api.account import (
    InboxReadView,
    InboxView,
    TokenDetailView,
    TokenListView,
    WebhookDeliveriesView,
    WebhookDetailView,
    WebhookListView,
)
from editorial.api.board import InvitationViewSet
from editorial.api.views import ArticleViewSet
from editorial.api.writing_aids import ChecksView, ReferenceLookupView

router = DefaultRouter()
router.register("articles", ArticleViewSet, basename="article")
router.register("invitations", InvitationViewSet, basename="invitation")

urlpatterns = [
    path("checks/", ChecksView.as_view(), name="checks"),
    path("references/lookup/", ReferenceLookupView.as_view(), name="reference-lookup"),
    path("inbox/", InboxView.as_view(), name="inbox"),
    path("inbox/read/", InboxReadView.as_view(), name="inbox-read"),
    path("tokens/", TokenListView.as_view(), name="tokens"),
    path("tokens/<str:token_key>/", TokenDetailView.as_view(), name="token"),
    path("webhooks/", WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<int:webhook_id>/", WebhookDetailView.as_view(), name="webhook"),
    path("webhooks/<int:webhook_id>/deliveries/", WebhookDeliveriesView.as_view(), name="webhook-deliveries"),
    *router.urls,
]
