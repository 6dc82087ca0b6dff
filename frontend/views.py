"""The dashboard page (one template; every panel loads its data from the JSON API) and the login page."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.access import read_required, user_can_edit
from core.params import id_list_split
from frontend.selectors import alerts_bootstrap, dashboard_bootstrap


@require_safe
@read_required
def dashboard(request: HttpRequest) -> HttpResponse:
    # The URL's store and item codes (the page's own state, store=CA_1,CA_2): only their names are embedded.
    codes = {name: id_list_split(request.GET.getlist(name)) for name in ("store", "item")}
    bootstrap = dashboard_bootstrap(stores=codes["store"], items=codes["item"])
    # A weekly history has no days to show or today to follow: the page is laid out by week (see the template).
    weekly = bootstrap["frequency"] == "W"
    context = {"bootstrap": bootstrap, "can_edit": user_can_edit(user=request.user), "weekly": weekly}
    return render(request, "frontend/dashboard.html", context)


@require_safe
@read_required
def alerts(request: HttpRequest) -> HttpResponse:
    """The alerts page: what fires, each rule's history, and (for editors) the rule editor with its preview."""
    can_edit = user_can_edit(user=request.user)
    context = {"bootstrap": alerts_bootstrap(can_edit=can_edit), "can_edit": can_edit}
    return render(request, "frontend/alerts.html", context)


class LoginView(auth_views.LoginView):
    """Django's login view (CSRF, safe `next` redirects) with a page styled like the dashboard."""

    template_name = "frontend/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's own rule): a link or an image cannot log anyone out."""
