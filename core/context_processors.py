"""Template context every page gets: the header links registered through ``core.pages``."""

from core.pages import nav_links


def navigation(request):
    """``nav``: the installed pages' header links, each with ``current`` set for the page shown."""
    links = nav_links()
    path = getattr(request, "path", "")
    for link in links:
        link["current"] = link["url"] != "/" and path.startswith(link["url"]) or path == link["url"]
    return {"nav": links}
