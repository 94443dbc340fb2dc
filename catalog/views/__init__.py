"""Pages for stewards and auditors: search with facets, the asset page, and the glossary term,
domain, tag and people pages. Every view reads through the catalog's scoped selectors (the same
as the API's) and writes through its services with the request user as actor (docs/pages.md)."""

from catalog.views.asset import asset_edit, asset_page, people_search, tag_search, term_search
from catalog.views.browse import domain, glossary_term, person, tag
from catalog.views.search import search

home = search  # the home page is the search page (catalog:home and catalog:search)

__all__ = [
    "asset_edit",
    "asset_page",
    "domain",
    "glossary_term",
    "home",
    "people_search",
    "person",
    "search",
    "tag",
    "tag_search",
    "term_search",
]
