from django.urls import path

from editorial.public import questions, views

urlpatterns = [
    path("", views.article_index, name="article-index"),
    path("articles/<slug:slug>/", views.article_detail, name="article-detail"),
    path("articles/<slug:slug>/questions/", questions.ask, name="question-ask"),
    path("articles/<slug:slug>/questions/thanks/", questions.thanks, name="question-thanks"),
    path("editorial-policy/", views.editorial_policy, name="editorial-policy"),
]
