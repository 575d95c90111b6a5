from django.urls import path

from operators.proconnect import ProConnectCallbackView, ProConnectLoginView, logout_callback

app_name = "proconnect"

urlpatterns = [
    path("connexion/", ProConnectLoginView.as_view(purpose="portal"), name="login"),
    path("connexion-agent/", ProConnectLoginView.as_view(purpose="admin"), name="admin_login"),
    path("retour/", ProConnectCallbackView.as_view(), name="callback"),
    # ProConnect's post_logout_redirect_uri (the portal's and the admin's sign-out: config/urls.py).
    path("deconnexion/", logout_callback, name="logout_callback"),
]
