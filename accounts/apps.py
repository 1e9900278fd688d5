from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and their security log"

    def ready(self) -> None:
        from accounts import signals

        signals.connect()
