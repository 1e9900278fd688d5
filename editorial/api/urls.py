from django.urls import path
from rest_framework.routers import DefaultRouter

from editorial.api.views import ArticleViewSet, ChecksView, ReferenceLookupView

router = DefaultRouter()
router.register("articles", ArticleViewSet, basename="article")

urlpatterns = [
    path("checks/", ChecksView.as_view(), name="checks"),
    path("references/lookup/", ReferenceLookupView.as_view(), name="reference-lookup"),
    *router.urls,
]
