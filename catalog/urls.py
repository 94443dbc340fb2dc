from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.home, name="home"),
    path("assets/<int:pk>/", views.asset_page, name="asset"),
]
