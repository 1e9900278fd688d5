"""The baseline: Django's stock changelist for the same articles, on a bench-only admin site.

The same columns, filters, search, page size and ordering as the workspace's article list,
with none of the workspace's own work: no roles, no visibility rule, no history admin, no
inbox count. A superuser opens it (stock model permissions).
"""

from django.contrib import admin
from django.http import Http404
from django.urls import path

from articles.models import Article


def _absent(request):
    raise Http404("Not on the stock site.")


class StockSite(admin.AdminSite):
    def get_urls(self):
        # The project's admin/base_site.html links the workspace's inbox and account pages: the names must
        # resolve here too, though nothing on the stock site ever opens them.
        return [
            path("inbox/", _absent, name="inbox"),
            path("inbox/preferences/", _absent, name="notification_preferences"),
            path("account/", _absent, name="account"),
            *super().get_urls(),
        ]


stock_site = StockSite(name="stock")


@admin.register(Article, site=stock_site)
class StockArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "review_round", "author", "specialty", "content_updated_at")
    list_filter = ("status", "specialty")
    list_select_related = ("author", "specialty")
    search_fields = ("title",)
    ordering = ("-updated_at", "-id")
    list_per_page = 50
    # The same option as the workspace's list (editorial/workspace/articles.py): one COUNT on a
    # filtered or searched page, not two, so the baseline does no work ours skips.
    show_full_result_count = False
