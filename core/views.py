"""The posture dashboard frame. Core knows no app: each app registers its sections as "dashboard"
panels (``core.pages``), whose context functions read through that app's scoped selectors."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core import pages


@login_required
@require_GET
def dashboard(request):
    """``dashboard``: every "dashboard" panel this user may see, in registration order."""
    return render(request, "core/dashboard.html", {"panels": pages.panels_for("dashboard", request, None)})
