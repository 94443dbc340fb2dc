"""Template context every page gets: the header links registered through ``core.pages``."""

from core.pages import nav_links


def navigation(request):
    """``nav``: the installed pages' header links. A link is ``current`` on its own page, below its
    path, and anywhere in its URL namespace (the Catalog link on ``/search/`` and asset pages)."""
    links = nav_links()
    path = getattr(request, "path", "")
    match = getattr(request, "resolver_match", None)
    namespace = match.namespace if match else ""
    for link in links:
        in_namespace = bool(namespace) and link["url_name"].split(":", 1)[0] == namespace and ":" in link["url_name"]
        link["current"] = path == link["url"] or (link["url"] != "/" and path.startswith(link["url"])) or in_namespace
    return {"nav": links}
