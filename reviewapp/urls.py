from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from reviewapp.views import accuracy, exports, imports, plans, review

urlpatterns = [
    path("", review.queue, name="queue"),
    path("queue/next/", review.queue_next, name="queue_next"),
    path("review/<int:clause_id>/", review.review, name="review"),
    path("clauses/<int:clause_id>/history/", review.clause_history, name="clause_history"),
    path("guidelines/", review.guidelines, name="guidelines"),
    path("adjudication/", review.adjudication, name="adjudication"),
    path("agencies/suggest/", review.agency_suggest, name="agency_suggest"),
    path("plans/", plans.home, name="home"),
    path("export/", exports.export_download, name="export"),
    path("accuracy/", accuracy.accuracy, name="accuracy"),
    path("plans/<int:plan_id>/", plans.plan_detail, name="plan_detail"),
    path("import/", imports.import_upload, name="import_upload"),
    path("import/<int:batch_id>/", imports.import_batch_detail, name="import_batch"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
