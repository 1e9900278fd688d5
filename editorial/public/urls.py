from django.urls import path

from editorial.public import views

urlpatterns = [
    path("", views.article_index, name="article-index"),
    path("articles/<slug:slug>/", views.article_detail, name="article-detail"),
    path("editorial-policy/", views.editorial_policy, name="editorial-policy"),
]
