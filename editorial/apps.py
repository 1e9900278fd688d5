from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class WorkspaceAdminConfig(admin_apps.AdminConfig):
    """The Django admin, with the editorial workspace as its default site."""

    default = False
    default_site = "editorial.workspace.site.WorkspaceSite"


class EditorialConfig(AppConfig):
    name = "editorial"
    verbose_name = "Editorial workflow"

    def ready(self) -> None:
        from articles.models import Article
        from editorial.notifications import checks  # noqa: F401 - registers the system checks
        from editorial.workflow import approval, audit, chain, membership, permissions

        # The machine's own permission hook asks the one policy, so that
        # ``get_available_user_status_transitions`` and ``has_transition_perm`` agree
        # with every door (admin, API, tasks).
        permissions.install_transition_policy(Article)
        # The quorum needs the board's signatures, which the articles app does not know.
        approval.install_approval_rule(Article)
        audit.connect()
        audit.reuse_history_managers()
        chain.connect()
        # Leaving the board (group removal, deactivation) ends that person's open invitations.
        membership.connect()
