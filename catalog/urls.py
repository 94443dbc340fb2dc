from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("assets/<int:pk>/", views.asset_page, name="asset"),
    path("assets/<int:pk>/edit/", views.asset_edit, name="asset_edit"),
    path("glossary/<int:pk>/", views.glossary_term, name="glossary_term"),
    path("domains/<int:pk>/", views.domain, name="domain"),
    path("tags/<str:key>/", views.tag, name="tag"),
    path("people/<str:username>/", views.person, name="person"),
    path("people-search/", views.people_search, name="people_search"),
    path("tag-search/", views.tag_search, name="tag_search"),
    path("term-search/", views.term_search, name="term_search"),
]
