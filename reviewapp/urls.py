from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from reviewapp.views import imports, plans

urlpatterns = [
    path("", plans.home, name="home"),
    path("plans/<int:plan_id>/", plans.plan_detail, name="plan_detail"),
    path("import/", imports.import_upload, name="import_upload"),
    path("import/<int:batch_id>/", imports.import_batch_detail, name="import_batch"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
