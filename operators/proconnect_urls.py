from django.urls import path

from operators.proconnect import ProConnectCallbackView, ProConnectLoginView

app_name = "proconnect"

urlpatterns = [
    path("connexion/", ProConnectLoginView.as_view(purpose="portal"), name="login"),
    path("connexion-agent/", ProConnectLoginView.as_view(purpose="admin"), name="admin_login"),
    path("retour/", ProConnectCallbackView.as_view(), name="callback"),
]
