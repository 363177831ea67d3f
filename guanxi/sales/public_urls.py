from django.urls import path

from guanxi.sales import public

app_name = "public"

urlpatterns = [
    path("<str:key>/", public.web_form, name="web-form"),
]
