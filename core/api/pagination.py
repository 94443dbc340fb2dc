"""The API's one pagination class (settings: REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"])."""

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """``?page=N&page_size=M`` (at most 500 per page; default PAGE_SIZE from settings)."""

    page_size_query_param = "page_size"
    max_page_size = 500
