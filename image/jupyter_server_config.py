"""The participant's Jupyter server: listens on 8888, serves the work folder, auth always on."""

import os

c = get_config()  # noqa: F821  (Jupyter provides it)
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
c.ServerApp.root_dir = "/home/jovyan/work"
# The password comes from $PASSWORD or $PASSWORD_FILE at every start (see start-lab); it is not
# changed from the UI.
c.PasswordIdentityProvider.allow_password_change = False

# Under the hub (start-singleuser) JupyterHub does the login and sets these itself.
if not os.environ.get("JUPYTERHUB_SERVICE_URL"):
    # Failed logins are throttled per source address (src/matchbox/lab/login.py): after 5 failures
    # from one address within 300 s, that address is refused for 300 s before any hashing.
    c.ServerApp.identity_provider_class = "matchbox.lab.login.ThrottledPasswordIdentityProvider"
    # The throttle keys on the TCP peer: X-Forwarded-For / X-Real-Ip would let an attacker pick
    # any address, so they are never trusted here.
    c.ServerApp.trust_xheaders = False

# MATCHBOX_LANG=ja (checked by start-lab / start-singleuser): JupyterLab's menus in Japanese by
# default, from the same overrides plus the locale (made at image build); a participant's own
# choice in Settings > Language is a user setting and still wins.
if os.environ.get("MATCHBOX_LANG") == "ja" and os.path.isdir("/opt/matchbox/lab-settings/ja"):
    c.LabServerApp.app_settings_dir = "/opt/matchbox/lab-settings/ja"
