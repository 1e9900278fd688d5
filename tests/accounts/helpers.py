"""Signing in as people do: the real login form, then the second factor's form."""

from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import second_factor
from editorial.demo.content import DEMO_TOTP_SECRET

LOGIN = "/admin/login/"


def enroll(user, secret: str = DEMO_TOTP_SECRET) -> TOTPDevice:
    """Give ``user`` a confirmed authenticator with a known secret (the demo's)."""
    return second_factor.set_authenticator(user, secret)


def code_for(user) -> str:
    """A code the user's authenticator accepts now (each code works once)."""
    return second_factor.current_code(TOTPDevice.objects.get(user=user, confirmed=True))


def post_password(client: Client, username: str, password: str = "pw", address: str = "127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address)


def sign_in(client: Client, username: str, password: str = "pw", *, code: str | None = None):
    """The login form, then (if given) the code; returns the last response, redirects followed."""
    response = post_password(client, username, password)
    if code is not None:
        response = client.post(reverse("admin:second_factor"), {"code": code, "next": "/admin/"})
    return response


def workspace_status(client: Client) -> tuple[int, str]:
    """(status, where it redirects) of the workspace's dashboard for this client."""
    response = client.get("/admin/")
    return response.status_code, response.headers.get("Location", "")
